// A minimal consumer: one TaskWorker, its image built elsewhere in this same stack (here a
// placeholder Output), two queues, one producer. Run `pulumi package add` first (README).
import * as pulumi from "@pulumi/pulumi";
import * as taskWorker from "@pulumi/task-worker";

const gcp = new pulumi.Config("gcp");

// Any Output<string> works here: e.g. a docker-build Image's `ref`. Known after it is built;
// the TaskWorker checks it then, with the same rules as the stack file.
const image = pulumi.output("us-docker.pkg.dev/cloudrun/container/hello");

const worker = new taskWorker.TaskWorker("orders", {
    project: gcp.require("project"),
    region: "europe-west1",
    enqueuers: ["serviceAccount:orders-api@my-project.iam.gserviceaccount.com"],
    service: {
        image: image,
        maxInstances: 20,
        env: { LOG_LEVEL: "info" },
    },
    queues: {
        default: { path: "/tasks" },
        bulk: { path: "/tasks/bulk", maxDispatchesPerSecond: 5 },
    },
});

export const serviceUrl = worker.serviceUrl;
export const invokerEmail = worker.invokerEmail;
export const queues = worker.queues;
