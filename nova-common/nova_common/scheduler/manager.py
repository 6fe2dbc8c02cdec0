"""Chooses a host and claims it.

The view of the hosts (services' last reports plus the claims of their live
instances) is cached for ``[scheduler] host_state_ttl`` seconds and updated
locally after each claim and each changed resource report; the claim itself is
checked again in the database under a row lock
(:meth:`nova_common.db.api.Database.claim`), so a stale view costs a retry on
the next host, never an overcommit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from oslo_log import log as logging

from nova_common.compute import exceptions as core_exc
from nova_common.db.api import Database, NewInstance
from nova_common.scheduler.filters import FILTERS, HostState, RequestSpec, ram_weigher

LOG = logging.getLogger(__name__)


class Scheduler:
    def __init__(
        self, db: Database, up_hosts: Callable[[], Collection[str]], host_state_ttl: float = 1.0
    ) -> None:
        self.db = db
        self.up_hosts = up_hosts
        self.ttl = host_state_ttl
        self._lock = threading.Lock()
        self._states: dict[str, HostState] = {}
        # Per host, the vCPU, RAM and disk of its live instances' claims: what a
        # report is merged with (a report can lag behind the claims in flight).
        self._claimed: dict[str, list[int]] = {}
        # None: read the database on the next look (monotonic time can be
        # smaller than the TTL shortly after boot, so 0.0 would not do).
        self._loaded_at: float | None = None

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = None

    def host_reported(self, host: str, resources: dict[str, int]) -> None:
        """A host's changed resource report, merged into the view of that host
        alone: during a burst of boots every host reports new use, and reloading
        all hosts for each report cost the conductor a quarter of its time at
        1,000 hosts. A host the view does not know yet waits for the reload."""
        with self._lock:
            state = self._states.get(host)
            if state is None:
                self._loaded_at = None
                return
            state.apply_report(
                resources["vcpus"],
                resources["vcpus_used"],
                resources["memory_mb"],
                resources["memory_mb_used"],
                resources["local_gb"],
                resources["local_gb_used"],
                self._claimed.get(host, (0, 0, 0)),
            )

    def host_states(self) -> list[HostState]:
        with self._lock:
            if self._loaded_at is None or time.monotonic() - self._loaded_at > self.ttl:
                usage = {host: list(used) for host, used in self.db.usage_by_host().items()}
                states = {}
                for host, enabled, hypervisor_type, capabilities, *resources in self.db.service_rows():
                    state = HostState(host, enabled, True, hypervisor_type, capabilities, 0, 0, 0, 0, 0, 0)
                    state.apply_report(*resources, usage.get(host, (0, 0, 0)))
                    states[host] = state
                self._states = states
                self._claimed = usage
                self._loaded_at = time.monotonic()
            states = list(self._states.values())
        up = self.up_hosts()
        for state in states:
            state.up = state.host in up
        return states

    def select(self, spec: RequestSpec) -> list[HostState]:
        """Hosts passing every filter, best first; NoValidHost naming what removed them."""
        hosts = self.host_states()
        total = len(hosts)
        removed: list[str] = []
        for name, host_filter, applies in FILTERS:
            if not applies(spec):
                continue
            kept = [h for h in hosts if host_filter(h, spec)]
            if len(kept) < len(hosts):
                removed.append(f"{name} removed {len(hosts) - len(kept)}")
            hosts = kept
        if not hosts:
            detail = ", ".join(removed) if removed else "no compute services registered"
            raise core_exc.NoValidHost(reason=f"0 of {total} hosts can take the request ({detail})")
        hosts.sort(key=ram_weigher, reverse=True)
        return hosts

    def schedule(
        self,
        instance_uuid: str,
        spec: RequestSpec,
        task_state: str,
        new_task_state: str | None = None,
        candidates: list[HostState] | None = None,
        session: Any = None,
        new_instance: NewInstance | None = None,
    ) -> dict[str, Any]:
        """Claim the best host that still has room; the claimed instance row.

        With ``new_task_state`` the claim also moves the instance there, in
        the same transaction. ``candidates`` are the result of a
        :meth:`select` for this ``spec`` made just before. With ``session`` the
        claims join that database transaction. With ``new_instance`` (a
        create) the claim inserts the instance (:meth:`Database.claim`)."""
        if candidates is None:
            candidates = self.select(spec)
        for candidate in candidates:
            claimed = self.db.claim(
                instance_uuid,
                candidate.host,
                spec.vcpus,
                spec.memory_mb,
                spec.disk_gb,
                task_state,
                new_task_state,
                session=session,
                new_instance=new_instance,
            )
            if claimed is not None:
                with self._lock:
                    state = self._states.get(candidate.host)
                    if state is not None:
                        state.consume(spec)
                    claimed_here = self._claimed.setdefault(candidate.host, [0, 0, 0])
                    claimed_here[0] += spec.vcpus
                    claimed_here[1] += spec.memory_mb
                    claimed_here[2] += spec.disk_gb
                return claimed
            # In a caller's transaction the instance is not committed yet, so
            # no one else can have deleted it.
            if session is None and self.db.get_instance(instance_uuid) is None:
                raise core_exc.NotFound(field="instance", value=instance_uuid)
            # Our view was stale: the host filled up. Mark it full for now.
            with self._lock:
                state = self._states.get(candidate.host)
                if state is not None:
                    state.vcpus_used = state.vcpus
        raise core_exc.NoValidHost(
            reason=f"the {len(candidates)} hosts that passed the filters filled up before the claim"
        )
