"""The one object that drives a kit run (as csi-sanity's Config does)."""

from __future__ import annotations

import dataclasses


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

    @property
    def mode(self) -> str:
        return "black-box" if self.transport_url else "in-process"

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
