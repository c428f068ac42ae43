"""The plugin's program: hosts the TaskWorker component for `pulumi package add`."""

import sys
from pathlib import Path

# The component is the project's own (settings/, components/ at the repository's root): Pulumi
# clones the whole repository for `pulumi package add <git url>/package`, and runs this from here.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider.experimental import component_provider_host

from task_worker_package.component import TaskWorker
from task_worker_package.generate import version

if __name__ == "__main__":
    component_provider_host([TaskWorker], "task-worker", version=version())
