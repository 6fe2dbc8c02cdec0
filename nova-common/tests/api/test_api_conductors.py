"""``nova-common serve --conductors N``: several conductors in the all-in-one, active-active on
one topic and one database; every one of them answers, and they agree on liveness."""

import collections
import time

import pytest
from api_helpers import FLAVOR, HTTP, IMAGE, start_cloud

from nova_common.cmd.serve import parse_args


def test_serve_runs_several_conductors_that_share_the_work_and_agree_on_liveness(tmp_path):
    aio = start_cloud(str(tmp_path / "state"), conductors=3)
    try:
        names = [c.manager.server for c in aio.conductors]
        assert len(set(names)) == 3
        db = aio.conductor.db
        live = db.live_conductor_ids(aio.conf.conductor.service_down_time)
        assert live == {c.manager.id for c in aio.conductors}
        http = HTTP(aio.endpoint)
        ids = []
        for n in range(12):
            status, body, _ = http.post(
                "/servers", {"server": {"name": f"multi-{n}", "flavorRef": FLAVOR, "imageRef": IMAGE}}
            )
            assert status == 202, body
            ids.append(body["server"]["id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = {http.get(f"/servers/{i}")[1]["server"]["status"] for i in ids}
            if statuses == {"ACTIVE"}:
                break
            time.sleep(0.1)
        assert statuses == {"ACTIVE"}
        # Each create was taken by whichever conductor got the message: all of them worked.
        owners = collections.Counter(db.get_instance(i)["owner"] for i in ids)
        assert set(owners) <= live and len(owners) >= 2, owners
        # Each conductor hears some heartbeats only; once each has read what the others
        # wrote (every heartbeat_flush_interval), every one reads every host up.
        time.sleep(1.5 * aio.conf.conductor.heartbeat_flush_interval)
        for _ in range(3):
            for conductor in aio.conductors:
                assert conductor.manager.up_hosts() == {h for h, _ in aio.hosts}
            time.sleep(aio.conf.conductor.service_down_time / 2)
        assert all(c.manager.stats["dropped"] == 0 for c in aio.conductors)
    finally:
        aio.stop()
    # Stopped on purpose: every lease given up.
    assert all(c["stopped_at"] for c in db.list_conductors())


@pytest.mark.parametrize("value", ["0", "-1", "two", "²"])
def test_serve_refuses_a_conductor_count_that_is_not_a_whole_number_from_1(value, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--conductors", value])
    assert f"--conductors {value!r}" in capsys.readouterr().err
