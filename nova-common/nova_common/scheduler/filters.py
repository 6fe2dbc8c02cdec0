"""Host filters and the weigher. Each filter answers whether a host can take
the request; the scheduler reports how many hosts each one removed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import NamedTuple


@dataclasses.dataclass(frozen=True)
class RequestSpec:
    """What one instance needs."""

    vcpus: int
    memory_mb: int
    disk_gb: int
    required_capabilities: frozenset[str] = frozenset()
    hypervisor_type: str | None = None
    exclude_hosts: frozenset[str] = frozenset()


@dataclasses.dataclass
class HostState:
    """A host as the scheduler sees it: the last report minus claims."""

    host: str
    enabled: bool
    up: bool
    hypervisor_type: str
    capabilities: frozenset[str]
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int

    @property
    def free_vcpus(self) -> int:
        return self.vcpus - self.vcpus_used

    @property
    def free_memory_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> int:
        return self.local_gb - self.local_gb_used

    def apply_report(
        self,
        vcpus: int,
        vcpus_used: int,
        memory_mb: int,
        memory_mb_used: int,
        local_gb: int,
        local_gb_used: int,
        claimed: Sequence[int],
    ) -> None:
        """Take a resource report, merged with ``claimed`` (vCPU, RAM, disk of
        the host's live instances): a report can lag behind the claims in flight."""
        self.vcpus, self.memory_mb, self.local_gb = vcpus, memory_mb, local_gb
        self.vcpus_used = max(vcpus_used, claimed[0])
        self.memory_mb_used = max(memory_mb_used, claimed[1])
        self.local_gb_used = max(local_gb_used, claimed[2])

    def consume(self, spec: RequestSpec) -> None:
        self.vcpus_used += spec.vcpus
        self.memory_mb_used += spec.memory_mb
        self.local_gb_used += spec.disk_gb


Filter = Callable[[HostState, RequestSpec], bool]


class HostFilter(NamedTuple):
    """A named filter, and when it can remove a host at all: a filter a request
    asks nothing of is skipped (one pass less over every host)."""

    name: str
    passes: Filter
    applies: Callable[[RequestSpec], bool] = lambda spec: True


def compute_filter(host: HostState, spec: RequestSpec) -> bool:
    """The service is up and enabled (and not a host this request already tried)."""
    return host.up and host.enabled and host.host not in spec.exclude_hosts


def capacity_filter(host: HostState, spec: RequestSpec) -> bool:
    """vCPU, RAM and disk from the latest report minus claims in flight."""
    # The free_* properties spelled out: this runs for every host on every request.
    return (
        host.vcpus - host.vcpus_used >= spec.vcpus
        and host.memory_mb - host.memory_mb_used >= spec.memory_mb
        and host.local_gb - host.local_gb_used >= spec.disk_gb
    )


def capabilities_filter(host: HostState, spec: RequestSpec) -> bool:
    """The host advertises every capability the image or operation needs."""
    return spec.required_capabilities <= host.capabilities


def hypervisor_type_filter(host: HostState, spec: RequestSpec) -> bool:
    """The host runs the hypervisor type asked for (image property ``hypervisor_type``)."""
    return spec.hypervisor_type is None or host.hypervisor_type.lower() == spec.hypervisor_type.lower()


FILTERS: list[HostFilter] = [
    HostFilter("ComputeFilter", compute_filter),
    HostFilter("CapabilitiesFilter", capabilities_filter, lambda spec: bool(spec.required_capabilities)),
    HostFilter("HypervisorTypeFilter", hypervisor_type_filter, lambda spec: spec.hypervisor_type is not None),
    HostFilter("CapacityFilter", capacity_filter),
]


def ram_weigher(host: HostState) -> int:
    """Spread: the host with the most free RAM first."""
    return host.memory_mb - host.memory_mb_used
