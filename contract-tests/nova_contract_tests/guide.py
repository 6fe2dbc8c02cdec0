"""The driver author's guide (``docs/driver-guide.md``), generated from the spec and the kit.

    nova-contract-tests guide --output docs/driver-guide.md

The hand-written chapters live in ``templates/driver-guide.md``; each
``<!-- generated: NAME -->`` line there is replaced by a section rendered
from :mod:`nova_common.virt.api` (operations, capabilities, errors, power
states, versions), from the objects a driver returns (their fields, with the
meanings in :data:`FIELD_MEANINGS`) and from the kit's own registry
(:data:`~nova_contract_tests.framework.SCENARIOS`: which scenario checks
which operation, and the rules each can report). The output depends on
nothing but the code, so a test regenerates it and compares.
"""

from __future__ import annotations

import inspect
import pathlib
import re
from collections.abc import Callable, Iterable
from typing import Any

from oslo_versionedobjects import fields as ovo_fields

from nova_common import objects
from nova_common.virt import api, report_api
from nova_common.virt import exceptions as exc
from nova_contract_tests import framework
from nova_contract_tests import scenarios as _scenarios  # noqa: F401  (registers them)
from nova_contract_tests.rule_index import known_rules, rules_of, shared_rules

#: Where the guide lives in the repository, and the command that writes it.
GUIDE_PATH = "docs/driver-guide.md"
REGENERATE = f"nova-contract-tests guide --output {GUIDE_PATH}"

_PACKAGE = pathlib.Path(__file__).resolve().parent
_TEMPLATE = _PACKAGE / "templates" / "driver-guide.md"
_MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)

#: What each field of the objects a driver builds means. Every field must be
#: explained here (rendering fails naming the one that is not), so a field
#: added to one of these objects cannot reach the guide unexplained.
FIELD_MEANINGS: dict[type, dict[str, str]] = {
    objects.InstanceInfo: {
        "uuid": "The instance's uuid, as the core gave it in `Instance.uuid`.",
        "name": "The hypervisor's own name for the instance (a libvirt domain name, a VM's "
        "inventory name); for logs and operators, never used as a key.",
        "power_state": "The state as of the call, after every completed operation on the instance: "
        "one of the power states below. `crashed` when the guest died without being asked to.",
        "vcpus": "Virtual CPUs the instance is configured with (the flavor's, unless the hypervisor "
        "says otherwise); 0 when the hypervisor cannot tell.",
        "memory_mb": "Memory (MiB) the instance holds on the host right now: its current allocation "
        "(a balloon's current size where there is one), 0 when it is not running.",
        "max_memory_mb": "Memory (MiB) the instance may use at most (the flavor's `memory_mb`), "
        "whatever its power state.",
        "cpu_time_ns": "Guest CPU time consumed since the instance last started, in nanoseconds, summed "
        "over its vCPUs; `None` when the hypervisor does not report it. It only grows while the "
        "instance runs.",
        "uptime_seconds": "Seconds since the instance last started running, when the hypervisor knows; "
        "`None` otherwise and while it is not running. New in InstanceInfo 1.1 (virt API 1.1): a "
        "core that reads 1.0 receives the object without it.",
    },
    objects.HostResources: {
        "hypervisor_hostname": "The name the hypervisor knows this host by (shown as the hypervisor's "
        "name in the API); defaults to the service's `[DEFAULT] host` where the hypervisor has none.",
        "hypervisor_type": "The same string as the driver's `hypervisor_type` (QEMU, VMware vCenter "
        "Server, ...).",
        "hypervisor_version": "The hypervisor's version as one integer, "
        "major\\*1,000,000 + minor\\*1,000 + release.",
        "vcpus": "Total vCPUs the host offers to instances; the core applies no allocation ratio "
        "to it (see Overcommit).",
        "vcpus_used": "vCPUs allocated to this driver's instances (their flavors' `vcpus`), in any "
        "power state; never above `vcpus`.",
        "memory_mb": "Total memory (MiB) the hypervisor offers to instances.",
        "memory_mb_used": "Memory (MiB) allocated to this driver's instances (their flavors' "
        "`memory_mb`), in any power state; never above `memory_mb`.",
        "local_gb": "Total local disk (GiB) for instances' root and ephemeral disks.",
        "local_gb_used": "Local disk (GiB) allocated to this driver's instances (`root_gb` + "
        "`ephemeral_gb` of their flavors); never above `local_gb`.",
        "uptime_seconds": "Seconds since the hypervisor (or the host) started; `None` when it does not "
        "report it.",
        "cpu_info": "Free-form strings describing the host CPU (`arch`, `model`, ...), shown to "
        "operators; the scheduler does not read it.",
    },
}


# -- small text helpers -------------------------------------------------------------------------


def _markdown(docstring: str) -> str:
    """reStructuredText roles and literals of a docstring, as Markdown."""
    text = re.sub(r":[a-z]+:`~?(?:[\w.]+\.)?([\w]+)`", r"`\1`", docstring)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _codes(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names) or "none"


def _type_name(value: Any) -> str:
    return getattr(value, "__name__", str(value))


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value:g} s"


# -- argument domains ---------------------------------------------------------------------------


def describe_constraint(constraint: api.Constraint) -> str:
    """One line saying what values ``constraint`` allows."""
    if isinstance(constraint, api.OneOf):
        return "one of " + ", ".join(f"`{value}`" for value in constraint.values)
    if isinstance(constraint, api.AtLeast):
        return f"at least {constraint.minimum:g}"
    if isinstance(constraint, api.NonEmpty):
        return f"a string with a non-blank character, at most {constraint.max_length} characters"
    if isinstance(constraint, api.IsUUID):
        return "a lower-case canonical uuid"
    what = getattr(constraint, "what", None)  # a constraint that names its own domain
    if isinstance(what, str):
        return what
    # A constraint type this guide does not know yet: say what it is rather than nothing.
    return f"`{constraint!r}`"


def _doc_of(scenario: framework.Scenario) -> str:
    # Generated scenarios get their docstring after registration; a table cell is one line.
    text = inspect.cleandoc(scenario.doc or inspect.getdoc(scenario.func) or "")
    return " ".join(text.split())


def _gate(scenario: framework.Scenario) -> str:
    if scenario.when_missing:
        return f"only without `{scenario.when_missing}`"
    return "needs " + _codes(scenario.capabilities) if scenario.capabilities else "always"


# -- the generated sections ---------------------------------------------------------------------


def _signature(op: api.Operation) -> str:
    params = []
    for arg in op.arguments:
        text = f"{arg.name}: {_type_name(arg.type)}"
        if not arg.required:
            text += f" = {arg.default!r}"
        params.append(text)
    result = _type_name(op.result) if op.result is not None else "None"
    return f"{op.name}({', '.join(params)}) -> {result}"


def _facts(op: api.Operation) -> str:
    transition = op.transition
    rows = [
        ("Gate", "mandatory" if op.mandatory else f"capability `{op.capability}`"),
        ("Added in", f"virt API {op.added_in}"),
    ]
    if transition is None:
        rows.append(("Power states", "any; the operation declares no transition"))
    else:
        rows += [
            ("Accepted from", _codes(sorted(transition.allowed_from))),
            ("Refused from (InvalidInstanceState)", _codes(sorted(transition.forbidden_from))),
            ("Leaves the instance", f"`{transition.to}`" if transition.to else "in the state it was in"),
        ]
    rows += [
        ("Idempotent", _yes(op.idempotent)),
        ("Repeatable", _yes(op.repeatable)),
        ("Declared errors", _codes(cls.__name__ for cls in op.declared_errors)),
        ("Every error a caller may see", _codes(cls.__name__ for cls in op.all_errors)),
        (
            "Time budget",
            _seconds(op.time_budget)
            + (" plus the call's `timeout`" if any(a.name == "timeout" for a in op.arguments) else ""),
        ),
        ("RPC timeout", _seconds(op.rpc_timeout)),
        ("Needs the hypervisor", _yes(op.needs_hypervisor)),
    ]
    return _table(("", ""), rows)


def _arguments(op: api.Operation) -> str:
    if not op.arguments:
        return "Arguments: none."
    rows = []
    for arg in op.arguments:
        domain = "; ".join(describe_constraint(c) for c in arg.constraints) or "any value of the type"
        rows.append(
            (
                f"`{arg.name}`",
                _type_name(arg.type),
                "required" if arg.required else f"default `{arg.default!r}`",
                domain,
            )
        )
    return _table(("argument", "type", "", "domain (checked by the scaffold)"), rows)


def _kit_checks(op: api.Operation, rules: list[str]) -> str:
    mine = [s for s in framework.SCENARIOS if s.operation == op.name]
    if not mine:
        return "The kit has no scenario for this operation (the run fails with `kit-coverage`)."
    rows = [
        (
            f"`{s.id}`",
            _gate(s),
            _markdown(_doc_of(s)) or "-",
            _codes(rules_of(s.func, rules)),
        )
        for s in mine
    ]
    return _table(("scenario", "runs", "checks", "rules it can report"), rows)


def render_operations() -> str:
    rules = list(known_rules())
    summary = _table(
        ("operation", "gate", "idempotent", "repeatable", "time budget", "RPC timeout", "added in"),
        (
            (
                f"[`{op.name}`](#{op.name})",
                "mandatory" if op.mandatory else f"`{op.capability}`",
                _yes(op.idempotent),
                _yes(op.repeatable),
                _seconds(op.time_budget),
                _seconds(op.rpc_timeout),
                op.added_in,
            )
            for op in api.OPERATIONS.values()
        ),
    )
    parts = [summary]
    for op in api.OPERATIONS.values():
        parts += [
            f"### {op.name}",
            f"```python\n{_signature(op)}\n```",
            _markdown(op.doc),
            _facts(op),
            _arguments(op),
            "Checked by the kit:",
            _kit_checks(op, rules),
        ]
    return "\n\n".join(parts)


def _message_arguments(msg: report_api.Message) -> str:
    parts = []
    for arg in msg.arguments:
        domain = "; ".join(describe_constraint(c) for c in arg.constraints)
        parts.append(f"`{arg.name}` ({_type_name(arg.type)}{', ' + domain if domain else ''})")
    return ", ".join(parts) or "none"


def render_report_channel() -> str:
    rules = list(known_rules())
    parts = [
        f"Compute-report API {report_api.REPORT_API_VERSION} (service to core) and the service-control "
        "API (core to service), from `nova_common/virt/report_api.py`:",
        _table(
            ("message", "direction", "kind", "arguments", "result", "sent", "added in"),
            (
                (
                    f"`{msg.name}`",
                    "service to core" if messages is report_api.COMPUTE_REPORT else "core to service",
                    msg.kind,
                    _message_arguments(msg),
                    _type_name(msg.result) if msg.result is not None else "None",
                    msg.sent,
                    msg.added_in,
                )
                for messages in (report_api.COMPUTE_REPORT, report_api.SERVICE_CONTROL)
                for msg in messages.values()
            ),
        ),
        "Checked by the kit (black-box, where it plays the core on the service's report topic):",
    ]
    rows = [
        (f"`{s.id}`", _markdown(_doc_of(s)) or "-", _codes(rules_of(s.func, rules)))
        for s in framework.SCENARIOS
        if s.operation.startswith("report.")
    ]
    parts.append(_table(("scenario", "checks", "rules it can report"), rows))
    return "\n\n".join(parts)


def render_capabilities() -> str:
    rows = []
    for capability in sorted(api.Capability.ALL):
        gated = api.operations_for(capability)
        rows.append((f"`{capability}`", _codes(op.name for op in gated)))
    mandatory = _codes(op.name for op in api.OPERATIONS.values() if op.mandatory)
    return f"Mandatory (no capability): {mandatory}.\n\n" + _table(("capability", "gates"), rows)


def render_power_states() -> str:
    rows = []
    for state in sorted(api.POWER_STATES):
        if state in framework.REACHABLE_STATES:
            reaching = framework.operation_reaching(state)
            how = f"`{reaching.name}` from `running`" if reaching else "`spawn`"
        else:
            how = "not through the contract: only the guest or the hypervisor puts an instance there"
        accepting = [
            op.name
            for op in api.OPERATIONS.values()
            if op.transition is not None and state in op.transition.allowed_from
        ]
        rows.append((f"`{state}`", how, _codes(accepting)))
    return _table(("power state", "reached by", "operations that accept it"), rows)


def render_errors() -> str:
    rows = []
    for code, cls in exc.WIRE_EXCEPTIONS.items():
        users = [op.name for op in api.OPERATIONS.values() if cls in op.declared_errors]
        rows.append(
            (
                f"`{cls.__name__}`",
                f"`{code}`",
                _markdown(inspect.cleandoc(cls.__doc__ or "")).replace("\n", " "),
                _codes(users) if users else "any operation",
            )
        )
    return _table(("error", "code", "meaning", "declared by"), rows)


def render_fields(cls: type) -> str:
    meanings = FIELD_MEANINGS.get(cls, {})
    missing = [name for name in cls.fields if name not in meanings]
    if missing:
        raise ValueError(f"FIELD_MEANINGS[{cls.__name__}]: no meaning for field(s) {', '.join(missing)}")
    unknown = [name for name in meanings if name not in cls.fields]
    if unknown:
        raise ValueError(f"FIELD_MEANINGS[{cls.__name__}]: {', '.join(unknown)} not a field of it")
    rows = []
    for name, field in cls.fields.items():
        kind = type(field).__name__.removesuffix("Field")
        if field.nullable:
            kind += ", nullable"
        if field.default is not ovo_fields.UnspecifiedDefault:
            kind += f", default `{field.default!r}`"
        rows.append((f"`{name}`", kind, meanings[name]))
    return f"`{cls.__name__}` {cls.VERSION}\n\n" + _table(("field", "type", "meaning"), rows)


def render_rules() -> str:
    rules = known_rules()
    shared = shared_rules(rules)
    checked_by: dict[str, list[str]] = {}
    for s in framework.SCENARIOS:
        for rule in rules_of(s.func, rules):
            checked_by.setdefault(rule, []).append(s.id)
    intro = (
        f"Every call, in every scenario: {_codes(shared.get('call', []))}. "
        f"Every instance a scenario spawns: {_codes(shared.get('spawn', []))}. "
        f"After every scenario (its cleanup): {_codes(shared.get('cleanup', []))}."
    )
    rows = []
    for rule, modules in rules.items():
        scenario_ids = checked_by.get(rule, [])
        shown = _codes(scenario_ids[:6]) + (
            f" and {len(scenario_ids) - 6} more" if len(scenario_ids) > 6 else ""
        )
        rows.append((f"`{rule}`", _codes(modules), shown if scenario_ids else "-"))
    return intro + "\n\n" + _table(("rule", "reported from", "scenarios"), rows)


def render_versions() -> str:
    rows = [
        (version, _markdown(text), _codes(api.operations_added_in(version)))
        for version, text in api.VERSION_HISTORY.items()
    ]
    return f"This nova-common speaks virt API {api.VIRT_API_VERSION}.\n\n" + _table(
        ("version", "what changed", "operations added"), rows
    )


SECTIONS: dict[str, Callable[[], str]] = {
    "operations": render_operations,
    "capabilities": render_capabilities,
    "report-channel": render_report_channel,
    "power-states": render_power_states,
    "errors": render_errors,
    "instance-info": lambda: render_fields(objects.InstanceInfo),
    "host-resources": lambda: render_fields(objects.HostResources),
    "rules": render_rules,
    "versions": render_versions,
}


def render() -> str:
    """The whole guide, as it belongs in :data:`GUIDE_PATH`."""
    template = _TEMPLATE.read_text()

    def section(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in SECTIONS:
            raise ValueError(f"{_TEMPLATE.name}: unknown generated section {name!r}")
        return SECTIONS[name]().rstrip()

    header = (
        f"<!-- Generated by `{REGENERATE}` from nova_common/virt/api.py, the objects and the kit's "
        "scenarios, with the prose of contract-tests/nova_contract_tests/templates/driver-guide.md. "
        "Do not edit: change those and regenerate. -->\n\n"
    )
    return header + _MARKER.sub(section, template).rstrip() + "\n"


def write(path: str | pathlib.Path) -> bool:
    """Write the guide to ``path``; True when the file changed."""
    path = pathlib.Path(path)
    text = render()
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
