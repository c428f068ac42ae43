"""The package's front door against the Python program's: same resources, same messages."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from settings import SettingsError, parse_settings
from task_worker_package import bridge, generate
from tests.conftest import FULL, SMALL, stack_config
from tests.strategies import as_stack_config, broken_configs, valid_configs
from tools.harness import Run, StackConfig, run_program

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "construct_program.py"
ROOT = HERE.parent.parent
OUTER = "task-worker:index:TaskWorker"


def inputs_of(config: dict[str, Any]) -> dict[str, Any]:
    """A stack file's config (full keys) as the package's inputs: the same names without namespace.
    A secret's short form ("db-password") is the stack file's only: the package types {secret}."""
    inputs = {key.split(":", 1)[-1]: value for key, value in config.items()}
    service = inputs.get("service")
    if isinstance(service, dict) and isinstance(service.get("secrets"), dict):
        secrets = {k: {"secret": v} if isinstance(v, str) else v for k, v in service["secrets"].items()}
        inputs["service"] = {**service, "secrets": secrets}
    return inputs


Outputs = Sequence[tuple[Sequence[str | int], str]]


def construct(inputs: dict[str, Any], stack: str = "test", outputs: Outputs = (), name: str = "task-worker") -> Run:
    values = {
        "gcp:project": str(inputs.get("project", "")),
        "package-test:inputs": json.dumps(inputs),
        "package-test:outputs": json.dumps(list(outputs)),
        "package-test:name": name,
    }
    return run_program(StackConfig(stack, values), PROGRAM)


def declared(run: Run) -> list[tuple[str, str, str]]:
    """(type, name, inputs) of each resource the TaskWorker declares, the package's own component aside."""
    return sorted(
        (r.type, r.name, json.dumps(r.inputs, sort_keys=True))
        for r in run.resources
        if r.type not in ("pulumi:pulumi:Stack", OUTER)
    )


def program_config(config: dict[str, Any], stack: str = "test") -> StackConfig:
    full = {k if ":" in k else f"task-worker:{k}": v for k, v in config.items()}
    full.setdefault("gcp:region", "europe-west1")
    return as_stack_config(full, stack)


def stack_problems(config: StackConfig) -> list[str]:
    with pytest.raises(SettingsError) as err:
        parse_settings(config.values, config.stack)
    return [str(p) for p in err.value.problems]


# --- the schema -----------------------------------------------------------------------------


def test_args_and_schema_are_fresh() -> None:
    """args.py and schema.json are what the generator makes of the settings model and the component now."""
    assert generate.main(["--check"]) == 0, "run: cd package && uv run python -m task_worker_package.generate"


def test_every_input_and_output_is_typed_and_described() -> None:
    schema = json.loads(generate.SCHEMA_PATH.read_text())
    component = schema["resources"][OUTER]
    props = [*component["inputProperties"].items(), *component["properties"].items()]
    props += [(f"{t}.{k}", p) for t, d in schema["types"].items() for k, p in d["properties"].items()]
    assert len(props) > 90
    for name, prop in props:
        assert prop.get("description"), name
        assert "type" in prop or "$ref" in prop, name


def test_inputs_mirror_the_stack_file_keys() -> None:
    schema = json.loads(generate.SCHEMA_PATH.read_text())
    inputs = set(schema["resources"][OUTER]["inputProperties"])
    service = set(schema["types"]["task-worker:index:Service"]["properties"])
    queue = set(schema["types"]["task-worker:index:Queue"]["properties"])
    assert inputs == {
        "project", "region", "location", "deletionProtection", "labels", "enqueuers",
        "service", "accounts", "monitoring", "deadLetter", "queues", "projectNumber",
    }  # fmt: skip
    assert {"image", "minInstances", "maxInstances", "env", "secrets", "vpc", "startupProbe"} <= service
    assert {"path", "maxDispatchesPerSecond", "shards", "alerts", "importId"} <= queue
    assert schema["resources"][OUTER]["requiredInputs"] == ["project"]


def test_descriptions_are_the_settings_models() -> None:
    schema = json.loads(generate.SCHEMA_PATH.read_text())
    dispatches = schema["types"]["task-worker:index:Queue"]["properties"]["maxDispatchesPerSecond"]
    assert dispatches["description"] == (
        "Most tasks dispatched per second (rateLimits.maxDispatchesPerSecond). "
        "Allowed: a number > 0 and ≤ 500 (more throughput means more queues)"
    )
    # Stack-file key names become the inputs' names in descriptions too.
    location = schema["resources"][OUTER]["inputProperties"]["location"]["description"]
    assert location.startswith("Overrides region for every resource")
    project = schema["resources"][OUTER]["inputProperties"]["project"]["description"]
    assert project.startswith("The Google Cloud project to deploy to. Allowed: a project ID: 6–30 lowercase")


def test_only_pass_through_inputs_accept_outputs() -> None:
    """`plain` in the schema: what the SDKs type as Input<T>. Only image and env values may be Outputs."""
    schema = json.loads(generate.SCHEMA_PATH.read_text())
    service = schema["types"]["task-worker:index:Service"]["properties"]
    assert "plain" not in service["image"]
    assert "plain" not in service["env"]["additionalProperties"]
    plain = [k for k, p in service.items() if k not in ("image", "env") and not p.get("plain")]
    assert plain == []
    assert all(p.get("plain") for p in schema["resources"][OUTER]["inputProperties"].values())


def test_schema_version_is_the_packages() -> None:
    schema = json.loads(generate.SCHEMA_PATH.read_text())
    assert schema["name"] == "task-worker"
    assert schema["version"] == generate.version()


def test_plugin_program_hosts_the_component() -> None:
    """PulumiPlugin.yaml's program starts the host (stubbed here: it would serve gRPC)."""
    code = (
        "import runpy, sys; import pulumi.provider.experimental as e; seen = []\n"
        "e.component_provider_host = lambda c, name, **kw: seen.append((c[0].__name__, name, kw))\n"
        "runpy.run_path('__main__.py', run_name='__main__'); print(seen)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=HERE.parent, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str([("TaskWorker", "task-worker", {"version": generate.version()})])
    manifest = yaml.safe_load((HERE.parent / "PulumiPlugin.yaml").read_text())
    assert manifest == {"runtime": {"name": "python", "options": {"toolchain": "uv"}}}


# --- same resources ------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [SMALL, FULL], ids=["small", "full"])
def test_construct_declares_what_the_program_declares(config: dict[str, Any]) -> None:
    program = run_program(program_config(config))
    package = construct(inputs_of({"gcp:region": "europe-west1", **config}))
    assert program.error is None, program.error
    assert package.error is None, package.error
    assert declared(package) == declared(program)
    assert len(declared(package)) > 20
    # Under the package's component, which the consumer's program parents.
    outer = package.one(OUTER)
    inner = package.one("task-worker:gcp:TaskWorker")
    assert inner.parent == outer.urn


@pytest.mark.parametrize("config", [SMALL, FULL], ids=["small", "full"])
def test_outputs_are_the_programs_exports(config: dict[str, Any]) -> None:
    program = run_program(program_config(config))
    package = construct(inputs_of({"gcp:region": "europe-west1", **config}))
    assert package.exports == program.exports
    assert set(package.exports) >= {"serviceUrl", "invokerEmail", "timeoutSeconds", "queues", "monitoring"}


def test_dead_letter_outputs() -> None:
    config = {**SMALL, "deadLetter": {"enabled": True}, "monitoring": {"enabled": False}}
    program = run_program(program_config(config))
    package = construct(inputs_of({"gcp:region": "europe-west1", **config}))
    assert package.exports == program.exports
    assert "deadLetterTopic" in package.exports
    assert "monitoring" not in package.exports


@settings(max_examples=max(settings().max_examples // 4, 3))  # two program runs per example
@given(valid_configs(max_queues=3))
def test_any_valid_config_declares_the_same_resources(config: dict[str, Any]) -> None:
    program = run_program(as_stack_config(config, "prop"))
    package = construct(inputs_of(config), stack="prop")
    assert program.error is None, program.error
    assert package.error is None, package.error
    assert declared(package) == declared(program)


def test_warnings_name_the_inputs() -> None:
    config = {**SMALL, "gcp:project": "my-project-dev"}
    package = construct(inputs_of({"gcp:region": "europe-west1", **config}))
    assert package.error is None
    assert "project is 'my-project-dev', the sample's placeholder: set your own project ID" in package.warnings


# --- same messages -----------------------------------------------------------------------------


def test_a_bad_input_names_the_input() -> None:
    config = {**SMALL, "gcp:region": "europe-west1", "queues": {"bulk": {"maxDispatchesPerSecond": 900}}}
    package = construct(inputs_of(config))
    assert str(package.error) == (
        "invalid TaskWorker inputs (1 problem(s)):\n"
        "  - queues.bulk.maxDispatchesPerSecond: 900.0 is not allowed; expected a number > 0 and ≤ 500 "
        "(more throughput means more queues)"
    )
    assert not [r for r in package.resources if r.custom]


def test_a_missing_region_names_region_and_location() -> None:
    package = construct(inputs_of(SMALL))
    assert str(package.error).startswith(
        "invalid TaskWorker inputs (1 problem(s)):\n"
        "  - region: '(unset)' is not allowed; required (or location): a location where Cloud Tasks runs: asia-east1,"
    )


@settings(max_examples=max(settings().max_examples // 4, 3))  # a construct per example
@given(broken_configs())
def test_bad_inputs_get_the_stack_files_messages(case: tuple[dict[str, Any], str]) -> None:
    config, key = case
    inputs = inputs_of(config)
    # What only the stack file can say: an unknown key (the SDKs' types and YAML's checker refuse it;
    # the provider drops it) and a null (an input left out).
    if "unknown key" in " ".join(stack_problems(as_stack_config(config))) or _has_null(inputs):
        return
    # Integers beyond 2**53 do not cross the wire exactly (the engine carries doubles): the package
    # is handed another number than the stack file holds, so the messages show another value.
    if _has_inexact_int(inputs):
        return
    package = construct(inputs)
    expected = [bridge.as_input_names(p) for p in stack_problems(as_stack_config(config, "test"))]
    assert isinstance(package.error, Exception)
    assert str(package.error).splitlines()[1:] == [f"  - {line}" for line in expected]
    assert any(line.startswith(bridge.as_input_names(key)) for line in expected)


def _has_inexact_int(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_inexact_int(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_inexact_int(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53


def _has_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(v is None or _has_null(v) for v in value)
    return False


def test_a_fractional_whole_number_is_refused_as_in_the_stack_file() -> None:
    """The wire carries doubles; 2.5 is not rounded on the way (the provider keeps what it got)."""
    config = {**SMALL, "service": {**SMALL["service"], "maxInstances": 2.5}}
    package = construct(inputs_of({"gcp:region": "europe-west1", **config}))
    assert "  - service.maxInstances: 2.5 is not allowed; expected a whole number from 1 to 2147483647" in str(
        package.error
    )


# --- inputs that are Outputs -------------------------------------------------------------------


def _small_inputs(**service: Any) -> dict[str, Any]:
    return inputs_of({"gcp:region": "europe-west1", **SMALL, "service": {**SMALL["service"], **service}})


def test_an_image_output_reaches_the_service() -> None:
    image = "europe-docker.pkg.dev/p/repo/worker@sha256:" + "a" * 64
    package = construct(_small_inputs(image=image), outputs=[(["service", "image"], "known")])
    plain = construct(_small_inputs(image=image))
    assert package.error is None, package.error
    assert declared(package) == declared(plain)


def test_a_bad_image_output_gets_the_stack_files_message_when_it_resolves() -> None:
    package = construct(_small_inputs(image="Not An Image"), outputs=[(["service", "image"], "known")])
    expected = [bridge.as_input_names(p) for p in stack_problems(program_config(_stack(image="Not An Image")))]
    assert expected
    assert expected[0].startswith("service.image: 'Not An Image' is not allowed")
    assert str(package.error).splitlines()[1:] == [f"  - {line}" for line in expected]
    # Judged when known: the service, which takes the image, is not declared.
    assert not package.of_type("gcp:cloudrunv2/service:Service")


@settings(max_examples=max(settings().max_examples // 4, 3))
@given(
    st.sampled_from(["gcr.io/p/worker:1.2", "Not An Image", "", "a b", "host:99/x@sha256:" + "0" * 64])
    | st.text("abc:/@.-_A", max_size=12)
)
def test_an_image_output_is_judged_as_the_stack_file_judges_it(image: str) -> None:
    package = construct(_small_inputs(image=image), outputs=[(["service", "image"], "known")])
    try:
        parse_settings(program_config(_stack(image=image)).values, "test")
    except SettingsError as err:
        expected = [f"  - {bridge.as_input_names(str(p))}" for p in err.problems]
        assert str(package.error).splitlines()[1:] == expected
    else:
        assert package.error is None, package.error
        service = package.one("gcp:cloudrunv2/service:Service")
        assert service.inputs["template"]["containers"][0]["image"] == image


def _stack(**service: Any) -> dict[str, Any]:
    return {**SMALL, "service": {**SMALL["service"], **service}}


def test_a_secret_env_output_stays_secret_and_its_message_hides_it() -> None:
    ok = construct(_small_inputs(env={"TOKEN": "s3cret"}), outputs=[(["service", "env", "TOKEN"], "secret")])
    assert ok.error is None, ok.error
    envs = ok.one("gcp:cloudrunv2/service:Service").inputs["template"]["containers"][0]["envs"]
    assert {"name": "TOKEN", "value": "[secret]"} in envs
    big = "x" * 40000
    bad = construct(_small_inputs(env={"TOKEN": big}), outputs=[(["service", "env", "TOKEN"], "secret")])
    assert "service.env.TOKEN: [secret] is not allowed; expected at most 32768 bytes (it has 40000)" in str(bad.error)


def test_an_unknown_image_is_judged_later_and_the_rest_now() -> None:
    """In a preview, an image not built yet: the other inputs are judged, the resources declared."""
    ok = construct(_small_inputs(image="x"), outputs=[(["service", "image"], "unknown")])
    assert ok.error is None, ok.error
    assert ok.of_type("gcp:cloudtasks/queue:Queue")
    bad = construct(_small_inputs(image="x", maxInstances=0), outputs=[(["service", "image"], "unknown")])
    assert "service.maxInstances: 0 is not allowed" in str(bad.error)


def test_an_output_where_it_decides_resources_is_refused() -> None:
    package = construct(_small_inputs(), outputs=[(["enqueuers", 0], "known")])
    assert str(package.error) == (
        "invalid TaskWorker inputs (1 problem(s)):\n"
        "  - enqueuers[0]: (an Output) is not allowed; expected a value known when the program runs "
        "(it decides which resources are declared); only service.env.*, service.image may be Outputs"
    )


def test_stack_config_and_inputs_name_the_same_things() -> None:
    """The helper above maps the tests' configs faithfully (a guard on the tests themselves)."""
    assert inputs_of({"gcp:project": "p", "task-worker:queues": {}}) == {"project": "p", "queues": {}}
    assert stack_config().values["gcp:project"] == "test-project"
    assert ROOT.joinpath("Pulumi.yaml").is_file()


# --- the examples ------------------------------------------------------------------------------


def test_the_yaml_example_constructs() -> None:
    """package/examples/yaml's TaskWorker, its properties as YAML hands them to the provider."""
    program = yaml.safe_load((HERE.parent / "examples" / "yaml" / "Pulumi.yaml").read_text())
    worker = program["resources"]["worker"]
    assert worker["type"] == OUTER
    run = construct(worker["properties"], stack="dev")
    assert run.error is None, run.error
    assert len(run.of_type("gcp:cloudtasks/queue:Queue")) == 1
    assert {o.split(".")[-1].rstrip("}") for o in program["outputs"].values()} <= set(run.exports)
