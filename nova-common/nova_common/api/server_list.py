"""The rows and rendered bodies behind ``GET /servers/detail``, kept between
requests and checked against each instance's stamp on every request.

A list request asks the conductor for every instance's stamp (``updated_at``,
which every write of an instance row sets, else ``created_at``) with the few
columns the filters need, fetches only the rows whose stamp it has not seen,
and reuses the JSON of a server body rendered before for the same stamp,
microversion, endpoint, host status and flavor catalog. So a list reflects
every change committed before the request, as without the cache, and costs
one small RPC plus the changed rows instead of every row's transfer, render
and encoding.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from nova_common.api import views

#: At most this many UUIDs per row fetch (an IN list).
FETCH_CHUNK = 500

#: Positions in a stamp (compute.api.ComputeAPI.instance_stamps).
UUID, STAMP, NAME, VM_STATE, TASK_STATE, HOST = range(6)


#: (stamp, row): a row fetched after its stamp was read, so at least as new as the stamp.
Entry = tuple[str, dict[str, Any]]


class ServerListCache:
    """``reuse=False``: fetch and render every row on every request (what a list
    cost without the cache; the benchmark compares the two in one run)."""

    def __init__(self, compute: Any, reuse: bool = True) -> None:
        self.compute = compute
        self.reuse = reuse
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[str, dict[str, Any]]] = {}
        self._bodies: dict[tuple[Any, ...], bytes] = {}
        self._bodies_kept = 0  # how many the last pruning kept

    def stamps(self, host: str | None = None) -> list[list[Any]]:
        stamps = self.compute.instance_stamps(host)
        if host is None:
            self._forget_all_but(stamps)
        return stamps

    def rows(self, stamps: list[list[Any]]) -> list[Entry]:
        """(stamp, row) of these stamps, the row fetched when its stamp changed; a row
        deleted since is left out. A row stored under an older stamp than its own is
        fetched again next time: never the reverse."""
        with self._lock:
            stale = {
                s[UUID]: s[STAMP]
                for s in stamps
                if not self.reuse or self._rows.get(s[UUID], ("",))[0] != s[STAMP]
            }
        wanted = list(stale)
        for start in range(0, len(wanted), FETCH_CHUNK):
            fetched = self.compute.instances(wanted[start : start + FETCH_CHUNK])
            with self._lock:
                for row in fetched:
                    self._rows[row["uuid"]] = (stale[row["uuid"]], row)
        with self._lock:
            entries = [self._rows.get(s[UUID]) for s in stamps]
        return [entry for entry in entries if entry is not None]

    def bodies(
        self,
        entries: list[Entry],
        base: str,
        version: tuple[int, int],
        catalog: views.Catalog,
        services: dict[str, dict[str, Any]] | None,
    ) -> list[bytes]:
        """Each row's server body as JSON, rendered once per stamp and context."""
        flavors = catalog.key()
        out = []
        for stamp, row in entries:
            status = views.host_status(services.get(row["host"])) if services is not None else None
            key = (row["uuid"], stamp, base, version, status, flavors)
            body = self._bodies.get(key) if self.reuse else None
            if body is None:
                body = json.dumps(views.server_detail(base, row, catalog, version, services)).encode()
                self._bodies[key] = body
            out.append(body)
        return out

    def _forget_all_but(self, stamps: list[list[Any]]) -> None:
        """Drop deleted instances' rows, and bodies of stamps that are no longer current."""
        live = {s[UUID]: s[STAMP] for s in stamps}
        with self._lock:
            if len(self._rows) > len(live):
                self._rows = {uuid: entry for uuid, entry in self._rows.items() if uuid in live}
            # Pruning walks every body: only once they doubled since the last one (bodies
            # of several microversions or endpoints are all current).
            if len(self._bodies) > 2 * max(self._bodies_kept, len(live)) + 64:
                self._bodies = {k: v for k, v in self._bodies.items() if live.get(k[0]) == k[1]}
                self._bodies_kept = len(self._bodies)
