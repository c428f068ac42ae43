"""Whatever Pulumi.*.yaml files the repo holds plan cleanly; the user's first real edits keep them so.

The stack files are the user's data: no test takes an expectation from what they hold. These
tests only ask what must be true of any stack: it plans, passes every mandatory policy, makes no
provider invoke, and is wired the one safe way (a private service fed by OIDC-signed queues, IAM
on resources only).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import stack_file_text
from tools import plan
from tools.harness import ROOT, Run, run_stack, stacks

SERVICE = "gcp:cloudrunv2/service:Service"
RUN_IAM = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
QUEUE = "gcp:cloudtasks/queue:Queue"
TOP = "task-worker:gcp:TaskWorker"
INTERNAL_INGRESS = {"INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
# IAM on a project, folder or organization reaches far beyond this stack's resources.
WIDE_IAM_MODULES = ("gcp:projects/", "gcp:organizations/", "gcp:folder/")
STACK_FILE_KEYS = {"config", "encryptionsalt", "secretsprovider", "encryptedkey"}


def check_stack(run: Run) -> None:
    """The invariants every stack keeps, whatever its file holds."""
    where = f"stack {run.stack}"
    assert run.error is None, f"{where}: {run.error}"
    assert run.invokes == [], f"{where}: provider invokes {run.invokes}"

    mandatory = plan.make_plan(run).mandatory
    assert mandatory == [], f"{where}: " + "; ".join(f"[{v.rule}] {v.urn}: {v.message}" for v in mandatory)

    components = {r.urn for r in run.resources if not r.custom}
    (top,) = [r for r in run.resources if r.type == TOP]
    for r in run.resources:
        if r is not top:
            assert r.parent in components, f"{where}: {r.urn} is not parented to a component"

    service = run.one(SERVICE)
    uri = service.outputs["uri"]
    assert service.inputs["ingress"] in INTERNAL_INGRESS, f"{where}: ingress {service.inputs['ingress']}"
    assert service.inputs["invokerIamDisabled"] is False, f"{where}: the service skips the invoker check"

    (binding,) = run.of_type(RUN_IAM)
    assert binding.inputs["role"] == "roles/run.invoker"
    assert binding.inputs["name"] == service.outputs["name"], f"{where}: run.invoker on another service"
    invoker_member = binding.inputs["member"]
    assert invoker_member.startswith("serviceAccount:"), f"{where}: run.invoker to {invoker_member}"

    queues = run.of_type(QUEUE)
    assert queues, f"{where}: no queue"
    audiences = {uri, *service.inputs.get("customAudiences", [])}
    for queue in queues:
        target = queue.inputs["httpTarget"]
        oidc = target.get("oidcToken", {})
        assert "oauthToken" not in target, f"{where}: {queue.urn} sends an OAuth token"
        assert f"serviceAccount:{oidc.get('serviceAccountEmail')}" == invoker_member, (
            f"{where}: {queue.urn} signs as {oidc.get('serviceAccountEmail')}, not the invoker"
        )
        assert oidc.get("audience") in audiences, f"{where}: {queue.urn} audience {oidc.get('audience')}"
        assert target["uriOverride"]["scheme"] == "HTTPS"
        assert target["uriOverride"]["host"] == uri.removeprefix("https://"), f"{where}: {queue.urn} host"

    for r in run.resources:
        assert not r.type.startswith(WIDE_IAM_MODULES) or "iam" not in r.type.lower(), f"{where}: {r.urn}"
        assert r.inputs.get("member") not in PUBLIC_MEMBERS, f"{where}: {r.urn} grants {r.inputs['member']}"
        assert not set(r.inputs.get("members", [])) & PUBLIC_MEMBERS, f"{where}: {r.urn} grants the public"


# --- every stack file present --------------------------------------------------------------------


@pytest.mark.parametrize("stack", stacks())
def test_stack_plans_and_keeps_the_invariants(stack: str) -> None:
    check_stack(run_stack(stack))


@pytest.mark.parametrize("stack", stacks())
def test_stack_file_holds_only_config(stack: str) -> None:
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    # `encryptionsalt` appears once `pulumi stack init` has run with a passphrase.
    assert set(doc) <= STACK_FILE_KEYS


# --- the invariants can fail ---------------------------------------------------------------------


def test_the_check_catches_a_broken_stack(small: Run) -> None:
    check_stack(small)
    public = Run(small.stack, small.project, list(small.resources))
    service = public.one(SERVICE)
    public.resources[public.resources.index(service)] = service._replace(
        inputs={**service.inputs, "ingress": "INGRESS_TRAFFIC_ALL"}
    )
    with pytest.raises(AssertionError, match="ingress INGRESS_TRAFFIC_ALL"):
        check_stack(public)
    invoked = Run(small.stack, small.project, list(small.resources), invokes=["gcp:organizations/getProject"])
    with pytest.raises(AssertionError, match="provider invokes"):
        check_stack(invoked)


# --- the first real edits, on a copy of the repo -------------------------------------------------


def _copy_repo(dest: Path) -> Path:
    """What `python -m tools.plan` reads: the program's entry point and the project and stack files.

    The program's own modules (settings, components) are the repo's, already imported.
    """
    dest.mkdir()
    for name in ("__main__.py", "Pulumi.yaml"):
        shutil.copy2(ROOT / name, dest / name)
    for stack in stacks():
        shutil.copy2(ROOT / f"Pulumi.{stack}.yaml", dest / f"Pulumi.{stack}.yaml")
    return dest


def _edit(path: Path, **config: object) -> None:
    doc = yaml.safe_load(path.read_text()) or {}
    doc.setdefault("config", {}).update(config)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_first_real_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy_repo(tmp_path / "repo")
    dev = root / "Pulumi.dev.yaml"
    if not dev.exists():  # the user has renamed their stacks: start dev as a new user would
        dev.write_text(stack_file_text())
    before = run_stack("dev", root)
    assert before.error is None, before.error

    config = yaml.safe_load(dev.read_text())["config"]
    queues = dict(config.get("task-worker:queues") or {})
    new_key = next(k for k in ("reports", "reports-2", "reports-3") if k not in queues)
    queues[new_key] = {"path": f"/tasks/{new_key}", "maxDispatchesPerSecond": 2}
    _edit(dev, **{"gcp:project": "acme-platform-dev", "task-worker:queues": queues})
    shutil.copy2(dev, root / "Pulumi.staging.yaml")
    (root / "Pulumi.prod.yaml").unlink(missing_ok=True)

    assert "staging" in stacks(root)
    assert "prod" not in stacks(root)
    for stack in stacks(root):
        run = run_stack(stack, root)
        check_stack(run)
        out = tmp_path / f"plan-{stack}.json"
        assert plan.main([stack, "--json", str(out)], root=root) == 0, capsys.readouterr().err
        assert out.is_file()

    after = run_stack("dev", root)
    assert after.project == "acme-platform-dev"
    # The added queue is there; the ones before are still there.
    assert len(after.of_type(QUEUE)) == sum(q.get("shards", 1) for q in queues.values())
    assert len(after.of_type(QUEUE)) >= len(before.of_type(QUEUE))
