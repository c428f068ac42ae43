"""The private Pulumi SDK names we rely on still exist with the shape we use.

Pulumi gives no compatibility promise for these (underscored, or outside `pulumi.runtime.__all__`),
and a minor release may change them. Where a public API exists we use it instead (the harness:
`rpc.is_rpc_secret`, `reset_options`, `get_root_resource`, the loop's own `run_until_complete`).
For what is left, each test names the symbol, the pulumi version and who relies on it, so an
upgrade fails here, loudly, rather than somewhere deep in the harness or as a silently empty
secret set. pyproject.toml pins pulumi to one minor release so that every upgrade comes through here.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import importlib.metadata
import inspect
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from policy import rules
from tools.harness import ROOT

PULUMI = importlib.metadata.version("pulumi")


def _in_new_thread(fn: Callable[[], Any]) -> Any:
    """What `fn` returns when called from a fresh thread, as the SDK's executor threads call it."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def _ensure_event_loop(fn: Any) -> str | None:
    if list(inspect.signature(fn).parameters):
        return f"takes parameters {inspect.signature(fn)}"
    loop = _in_new_thread(fn)
    if not isinstance(loop, asyncio.AbstractEventLoop):
        return f"returns {type(loop).__name__}, not an event loop"
    loop.close()
    return None


def _same_ensure_event_loop(fn: Any) -> str | None:
    from pulumi.runtime import sync_await

    # The harness patches the name in both modules; mocks must still import it from sync_await.
    return None if fn is sync_await._ensure_event_loop else "is no longer sync_await._ensure_event_loop"


def _get_stack_trace(fn: Any) -> str | None:
    from pulumi.runtime.proto import source_pb2

    signature = inspect.signature(fn)
    if list(signature.parameters):
        return f"takes parameters {signature}"
    # The harness replaces it by `source_pb2.StackTrace` (an empty trace): same return type needed.
    if signature.return_annotation not in (source_pb2.StackTrace, "source_pb2.StackTrace"):
        return f"returns {signature.return_annotation}, not source_pb2.StackTrace"
    return None


def _run_pulumi_func(fn: Any) -> str | None:
    if not inspect.iscoroutinefunction(fn):
        return "is no longer a coroutine function"
    params = list(inspect.signature(fn).parameters)
    return None if params == ["func"] else f"takes {params}, not (func)"


def _mock_monitor(cls: Any) -> str | None:
    from tools.harness import ProviderMocks, Run

    if not callable(getattr(cls, "RegisterResource", None)):
        return "has no RegisterResource method"
    if "state" not in getattr(getattr(cls, "ResourceRegistration", None), "_fields", ()):
        return "ResourceRegistration has no `state` field"
    if getattr(getattr(cls, "ResourceRegistration", None), "_fields", ()) != ("urn", "id", "state"):
        return "ResourceRegistration is no longer (urn, id, state)"
    monitor = cls(ProviderMocks(Run("contract", "p")))
    if monitor.resources != {}:
        return f"`resources` is {type(monitor.resources).__name__}, not a dict by URN"
    urn = monitor.make_urn("", "gcp:cloudtasks/queue:Queue", "q")
    return None if urn.endswith("::gcp:cloudtasks/queue:Queue::q") else f"make_urn gives {urn!r}"


def _resolve_callbacks(fn: Any) -> str | None:
    return None if fn([]) == [] else "does not map no transforms to none"


def _set_mocks(fn: Any) -> str | None:
    missing = {"mocks", "project", "stack", "preview", "logger", "monitor"} - set(inspect.signature(fn).parameters)
    return f"lost parameters {sorted(missing)}" if missing else None


def _stack_outputs(cls: Any) -> str | None:
    # The harness reads the root Stack's `outputs` for the exports; without it they would be {}.
    return None if "outputs" in getattr(cls, "__annotations__", {}) else "has no `outputs` attribute"


def _with_config(read: Callable[[], Any]) -> Any:
    """`read()` after set_all_config, in a copied context so no other test sees the config."""
    from pulumi.runtime import set_all_config

    def body() -> Any:
        set_all_config({"p:a": "1", "p:b": "2"}, ["p:b"])
        return read()

    return contextvars.copy_context().run(body)


def _secret_keys(var: Any) -> str | None:
    if not isinstance(var, contextvars.ContextVar):
        return f"is {type(var).__name__}, not a ContextVar"
    got = _with_config(var.get)
    return None if got == {"p:b"} else f"holds {got!r} after set_all_config(..., ['p:b']), not {{'p:b'}}"


def _config(var: Any) -> str | None:
    if not isinstance(var, contextvars.ContextVar):
        return f"is {type(var).__name__}, not a ContextVar"
    got = _with_config(var.get)
    return None if got == {"p:a": "1", "p:b": "2"} else f"holds {got!r} after set_all_config, not the config"


def _equals(expected: str, where: str) -> Callable[[Any], str | None]:
    return lambda value: None if value == expected else f"is {value!r}; {where} hard-codes {expected!r}"


@dataclass(frozen=True)
class Contract:
    symbol: str  # module:attribute
    used_by: str
    check: Callable[[Any], str | None]  # what is wrong, or None


CONTRACTS = [
    Contract(
        "pulumi.runtime.sync_await:_ensure_event_loop",
        "tools/harness.py (closes the event loops the SDK's threads create)",
        _ensure_event_loop,
    ),
    Contract(
        "pulumi.runtime.mocks:_ensure_event_loop", "tools/harness.py (patched there too)", _same_ensure_event_loop
    ),
    Contract(
        "pulumi.runtime.resource:_get_stack_trace",
        "tools/harness.py (skips the per-registration stack walk)",
        _get_stack_trace,
    ),
    Contract("pulumi.runtime.stack:run_pulumi_func", "tools/harness.py (runs the program)", _run_pulumi_func),
    Contract(
        "pulumi.runtime.mocks:MockMonitor",
        "tools/harness.py RecordingMonitor (subclass: make_urn, .resources, ResourceRegistration)",
        _mock_monitor,
    ),
    Contract(
        "pulumi.runtime.mocks:_resolve_callbacks",
        "tools/harness.py RecordingMonitor.RegisterResource (a resource's transforms for the mocks)",
        _resolve_callbacks,
    ),
    Contract("pulumi.runtime.mocks:set_mocks", "tools/harness.py (passes our monitor and logger)", _set_mocks),
    Contract("pulumi.runtime.stack:Stack", "tools/harness.py (reads the root stack's exports)", _stack_outputs),
    Contract(
        "pulumi.runtime.config:_SECRET_KEYS",
        "settings.config_from_runtime (which config keys are secret)",
        _secret_keys,
    ),
    Contract("pulumi.runtime.config:CONFIG", "settings.config_from_runtime (the whole config map)", _config),
    Contract(
        "pulumi.runtime.rpc:_special_sig_key",
        "policy/rules.py _SIG_KEY (unwraps secrets)",
        _equals(rules._SIG_KEY, "policy/rules.py"),
    ),
    Contract(
        "pulumi.runtime.rpc:_special_secret_sig",
        "policy/rules.py _SECRET_SIG (unwraps secrets)",
        _equals(rules._SECRET_SIG, "policy/rules.py"),
    ),
]


def resolve(symbol: str) -> Any:
    module, _, attr = symbol.partition(":")
    return getattr(importlib.import_module(module), attr)


def verify(contract: Contract) -> None:
    try:
        value = resolve(contract.symbol)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"pulumi {PULUMI} has no {contract.symbol} ({err}); {contract.used_by} relies on it")
    try:
        problem = contract.check(value)
    except Exception as err:  # a shape so different that the check itself breaks
        problem = f"no longer fits: checking it raised {err!r}"
    if problem:
        pytest.fail(f"pulumi {PULUMI} changed {contract.symbol}: it {problem}; {contract.used_by} relies on it")


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.symbol)
def test_private_sdk_name_keeps_its_shape(contract: Contract) -> None:
    verify(contract)


def test_a_broken_contract_fails_loudly() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"pulumi 3\.\S+ has no pulumi.runtime.config:_GONE"):
        verify(Contract("pulumi.runtime.config:_GONE", "nobody", lambda _: None))
    with pytest.raises(pytest.fail.Exception, match=r"changed pulumi.runtime.config:_SECRET_KEYS: it is set"):
        verify(Contract("pulumi.runtime.config:_SECRET_KEYS", "nobody", lambda _: _secret_keys(set())))


def test_config_from_runtime_sees_every_key_and_the_secret_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from settings import config_from_runtime

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_SECRET_KEYS", raising=False)
    config, secret = _with_config(config_from_runtime)
    assert config == {"p:a": "1", "p:b": "2"}
    assert secret == frozenset({"p:b"})


# --- the pin ---------------------------------------------------------------------------------


def test_pulumi_pin_admits_one_minor_release_the_installed_one() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [Requirement(d) for d in project["dependencies"] if Requirement(d).name == "pulumi"]
    installed = Version(PULUMI)
    assert installed in pin.specifier, f"pulumi {PULUMI} is installed but pyproject.toml pins {pin}"
    next_minor = Version(f"{installed.major}.{installed.minor + 1}.0")
    assert next_minor not in pin.specifier, (
        f"pyproject.toml pins {pin}, which admits pulumi {next_minor}: the SDK contract above was checked "
        f"on {PULUMI} only. Widen the pin by moving it, and let this module run on the new version."
    )
