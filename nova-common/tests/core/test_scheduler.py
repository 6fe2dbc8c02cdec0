"""The scheduler's view of the hosts: reloaded from the database on its TTL,
kept current between reloads by claims and by changed resource reports."""

import uuid as uuidlib

import pytest
from test_db import _catalog, _instance_values, _service

from nova_common.db.api import NewInstance
from nova_common.scheduler.filters import RequestSpec
from nova_common.scheduler.manager import Scheduler


def _report(vcpus_used: int, vcpus: int = 4) -> dict[str, int]:
    return dict(
        vcpus=vcpus, vcpus_used=vcpus_used, memory_mb=4096, memory_mb_used=0, local_gb=100, local_gb_used=0
    )


@pytest.fixture
def counted(synced_db):
    """A database with two hosts of 4 vCPUs, and a scheduler that never reloads
    on its own (TTL of an hour); ``reloads`` counts its reads of the services."""
    db = synced_db
    for host in ("a", "b"):
        _service(db, host, vcpus=4)
    reloads = []
    service_rows = db.service_rows
    db.service_rows = lambda: reloads.append(1) or service_rows()
    scheduler = Scheduler(db, up_hosts=lambda: {"a", "b", "c"}, host_state_ttl=3600)
    return db, scheduler, reloads


def _view(scheduler: Scheduler) -> dict[str, tuple[int, int]]:
    return {s.host: (s.vcpus, s.vcpus_used) for s in scheduler.host_states()}


def test_a_changed_report_updates_that_host_without_a_reload(counted):
    db, scheduler, reloads = counted
    assert _view(scheduler) == {"a": (4, 0), "b": (4, 0)}
    scheduler.host_reported("a", _report(vcpus_used=3, vcpus=8))
    assert _view(scheduler) == {"a": (8, 3), "b": (4, 0)}
    assert len(reloads) == 1


def test_a_report_lagging_behind_a_claim_does_not_hide_it(counted):
    db, scheduler, reloads = counted
    catalog = _catalog(db)
    spec = RequestSpec(vcpus=1, memory_mb=64, disk_gb=1, exclude_hosts=frozenset({"b"}))
    uuid = str(uuidlib.uuid4())
    new = NewInstance(_instance_values(uuid, "claimed", catalog), "create", "req-1")
    with db.writer() as session:
        placed = scheduler.schedule(uuid, spec, "scheduling", "spawning", session=session, new_instance=new)
    assert placed["host"] == "a"
    # The host reports before its spawn shows: the claim still counts...
    scheduler.host_reported("a", _report(vcpus_used=0))
    assert _view(scheduler)["a"] == (4, 1)
    # ...and a report of more than the claims wins.
    scheduler.host_reported("a", _report(vcpus_used=4))
    assert _view(scheduler)["a"] == (4, 4)
    # A reload agrees with the view kept in place.
    db.update_resources("a", _report(vcpus_used=0))
    scheduler.invalidate()
    assert _view(scheduler)["a"] == (4, 1)
    assert len(reloads) == 2


def test_a_report_from_a_host_the_view_lacks_reloads_it(counted):
    db, scheduler, reloads = counted
    assert set(_view(scheduler)) == {"a", "b"}
    _service(db, "c", vcpus=2)
    db.update_resources("c", _report(vcpus_used=1, vcpus=2))  # as report_resources does, first
    scheduler.host_reported("c", _report(vcpus_used=1, vcpus=2))
    assert _view(scheduler)["c"] == (2, 1)
    assert len(reloads) == 2
