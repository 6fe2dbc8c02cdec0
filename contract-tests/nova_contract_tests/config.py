"""The one object that drives a kit run (as csi-sanity's Config does)."""

from __future__ import annotations

import dataclasses
from typing import Any

from nova_common.virt import api


@dataclasses.dataclass
class KitConfig:
    """What to test and how.

    In-process mode: set ``driver`` (an entry-point name such as ``fake`` or a
    ``module:Class`` path) and optionally ``config_files`` for the driver's
    options. Black-box mode: set ``transport_url`` and ``host`` of a running
    compute service; the kit then imports nothing of the driver.
    """

    driver: str | None = None
    config_files: list[str] = dataclasses.field(default_factory=list)
    transport_url: str | None = None
    host: str | None = None
    #: Flavor of the instances the kit spawns (keep it small for real hypervisors).
    flavor_vcpus: int = 1
    flavor_memory_mb: int = 128
    flavor_root_gb: int = 1
    #: Seconds the kit waits for one RPC answer in black-box mode.
    rpc_timeout: int = 120
    #: Only run scenarios of these operations (empty: all).
    operations: list[str] = dataclasses.field(default_factory=list)
    #: Prefix of instance display names, so an operator can spot kit leftovers.
    name_prefix: str = "contract-kit"
    #: Black-box only: the service's ``[compute] conductor_topic``. The kit then
    #: plays the core's side of the report channel on it (no real conductor may
    #: serve that topic) and checks registration, heartbeats, resource reports
    #: and lifecycle events. Unset: those checks are skipped, saying why.
    report_topic: str | None = None
    #: The object manifest the kit answers the service's registration with, that
    #: is, the versions it asks the service to report objects at (default: the
    #: kit's own). Every object the service sends must be at or below these.
    core_object_versions: dict[str, str] | None = None
    #: Time budgets (seconds) replacing the spec's for these operations, for a
    #: hypervisor known to be slower; shown in the report.
    budgets: dict[str, float] = dataclasses.field(default_factory=dict)
    #: Seconds past an operation's budget before the kit abandons the call
    #: (in-process) or stops waiting for its answer (black-box).
    budget_grace: float = 0.5
    #: Seconds the kit waits for the lifecycle event of a change it made behind the core's back.
    event_timeout: float = 2.0

    @property
    def mode(self) -> str:
        return "black-box" if self.transport_url else "in-process"

    def budget_for(self, op: api.Operation, kwargs: dict[str, Any]) -> float:
        """The time budget of one call of ``op``: the spec's
        (:meth:`~nova_common.virt.api.Operation.budget_for`), with the
        operation's base budget replaced by an override from :attr:`budgets`."""
        spec = op.budget_for(kwargs)
        if op.name not in self.budgets:
            return spec
        return spec - op.time_budget + self.budgets[op.name]

    def validate(self) -> None:
        """Raise ValueError naming the field when the config cannot work."""
        if self.transport_url and self.driver:
            raise ValueError("driver: give either driver (in-process) or transport_url + host (black-box)")
        if self.transport_url and not self.host:
            raise ValueError(
                f"host: black-box mode needs the compute host name (transport_url={self.transport_url!r})"
            )
        if self.report_topic and not self.transport_url:
            raise ValueError(
                "report_topic: the report channel is checked black-box only "
                f"(report_topic={self.report_topic!r})"
            )
        if not self.transport_url and not self.driver:
            raise ValueError("driver: give a driver (in-process) or transport_url + host (black-box)")
        for field in ("flavor_vcpus", "flavor_memory_mb", "rpc_timeout"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{field}: must be a positive integer, got {value!r}")
        self.validate_budgets()

    def validate_budgets(self) -> None:
        """Raise ValueError naming the field and value of a bad time budget."""
        for name, seconds in self.budgets.items():
            if name not in api.OPERATIONS:
                raise ValueError(f"budgets: {name!r} is not an operation of the virt API spec")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
                raise ValueError(f"budgets.{name}: must be a positive number of seconds, got {seconds!r}")
        for field in ("budget_grace", "event_timeout"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{field}: must be a positive number of seconds, got {value!r}")
