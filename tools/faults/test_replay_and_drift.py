"""RPC messages replayed, and power states changed behind the core's back (issue 17).

Replays are sent the way a duplicating broker or a confused peer would: the same create
(same request id) to the conductor again, the spawn of a server after it was deleted
straight to its compute service, the delete of a server that is gone. None may change
what the core holds, and no VM a replay brings back may outlive two power syncs.

Drift uses the fake driver's test hooks (``[compute] enable_test_hooks``): a server
powered off or crashed on its hypervisor must read so in the API within two power
syncs, and running again once it runs again."""

import time

import pytest
from conftest import ROUNDS
from nova_common import objects
from nova_common.compute import exceptions as core_exc
from nova_common.conductor.rpcapi import ConductorAPIClient, get_core_transport
from nova_common.messaging import conf as messaging_conf
from nova_common.virt import rpcapi
from oslo_config import cfg

from nova_tools.faults import Tally
from nova_tools.upgrade import POWER_SYNC_INTERVAL

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
HOOKS = "[compute]\nenable_test_hooks = true\n"


@pytest.fixture
def wire(deployment):
    """RPC clients on the deployment's broker: the conductor API and each host's virt API."""
    conf = cfg.ConfigOpts()
    messaging_conf.register_opts(conf)
    rpcapi.register_opts(conf)
    conf(args=[], default_config_files=[])
    transport = get_core_transport(conf, deployment.transport_url)
    conductor = ConductorAPIClient(transport, timeout=30)
    virt = rpcapi.VirtAPIClient(conf, transport)
    yield conductor, virt, transport
    virt.close()
    transport.cleanup()


def _boot(cloud, name):
    status, reply, request_id = cloud.post_server(name)
    assert status == 202, reply
    server = cloud.wait_server(reply["server"]["id"], lambda s: s and s["status"] in ("ACTIVE", "ERROR"), 60)
    assert server["status"] == "ACTIVE", server
    return server, request_id


def _virt_instance(server):
    return objects.Instance(
        uuid=server["id"],
        display_name=server["name"],
        hostname=server["name"],
        host=server["OS-EXT-SRV-ATTR:host"],
        flavor=objects.Flavor(flavorid="1", name="m1.tiny", vcpus=1, memory_mb=512, root_gb=1),
        image=objects.ImageMeta(id=IMAGE, name="cirros"),
    )


def test_replayed_creates_spawns_and_deletes_change_nothing(deployment, wire, tallies):
    cloud = deployment
    conductor, virt, _ = wire
    tally = Tally("RPC replay (create, spawn after delete, delete)")
    tallies.append(tally)
    cloud.start_fakes(2)
    for round_ in range(ROUNDS):
        server, request_id = _boot(cloud, f"replay-{round_}")
        before = {s["id"] for s in cloud.http("GET", "/servers")[1]["servers"]}
        # The create again, as the API sent it (its request id in the context).
        again = conductor.call_as(
            request_id, "create_instance", name=server["name"], flavor="1", image=IMAGE, metadata={}
        )
        tally.injected += 1
        after = {s["id"] for s in cloud.http("GET", "/servers")[1]["servers"]}
        if again["uuid"] == server["id"] and after == before:
            tally.completed += 1
        else:
            tally.duplicated += len(after - before)
        # The server deleted, then its spawn replayed on its host: the VM comes back there.
        assert cloud.http("DELETE", f"/servers/{server['id']}")[0] == 204
        assert cloud.wait_server(server["id"], lambda s: s is None, 60) is None
        host = server["OS-EXT-SRV-ATTR:host"]
        virt.host(host).spawn(instance=_virt_instance(server), network_info=objects.NetworkInfo(objects=[]))
        tally.injected += 1
        replayed_at = time.monotonic()
        assert server["id"] in cloud.hypervisor_instances()[host], "the replayed spawn did not run"
        # The delete again: the server is gone, nothing changes.
        with pytest.raises(core_exc.NotFound):
            conductor.call("instance_action", instance_uuid=server["id"], action="delete", args={})
        tally.injected += 1
        tally.completed += 1
        # Two power syncs later the VM the replay made is gone from its hypervisor.
        deadline = replayed_at + 3 * POWER_SYNC_INTERVAL + 5
        while server["id"] in cloud.hypervisor_instances()[host] and time.monotonic() < deadline:
            time.sleep(0.2)
        if server["id"] in cloud.hypervisor_instances()[host]:
            tally.orphaned += 1
        else:
            tally.completed += 1
            tally.detect_s.append(time.monotonic() - replayed_at)
    cloud.audit(tally, set())
    assert tally.clean, tally
    assert tally.completed == tally.injected


def _hooks_client(transport, host):
    import oslo_messaging
    from nova_common.messaging.serializer import ObjectSerializer
    from nova_common.scaffold.test_hooks_endpoint import NAMESPACE, VERSION

    target = oslo_messaging.Target(
        topic=rpcapi.COMPUTE_TOPIC, server=host, namespace=NAMESPACE, version=VERSION
    )
    return oslo_messaging.get_rpc_client(transport, target, serializer=ObjectSerializer(), timeout=30)


def test_power_states_changed_behind_the_cores_back_are_followed(deployment, wire, tallies):
    cloud = deployment
    _, _, transport = wire
    tally = Tally("drift: power off / crash / power on behind the core's back")
    tallies.append(tally)
    cloud.start_fakes(2, extra=HOOKS)
    servers = [_boot(cloud, f"drift-{n}")[0] for n in range(2)]
    # Off, back on, crashed, back on: each followed by the API within two syncs.
    changes = [("shutdown", "SHUTOFF"), ("running", "ACTIVE"), ("crashed", "SHUTOFF"), ("running", "ACTIVE")]
    for round_ in range(ROUNDS):
        server = servers[round_ % len(servers)]
        hooks = _hooks_client(transport, server["OS-EXT-SRV-ATTR:host"])
        for state, status in changes:
            hooks.call({}, "set_power_state", instance_uuid=server["id"], state=state)
            tally.injected += 1
            changed_at = time.monotonic()
            seen = cloud.wait_server(
                server["id"],
                lambda s, status=status: s and s["status"] == status,
                2 * POWER_SYNC_INTERVAL + 3,
            )
            if seen and seen["status"] == status:
                tally.completed += 1
                tally.detect_s.append(time.monotonic() - changed_at)
            else:
                tally.stuck += 1
    cloud.audit(tally, {s["id"] for s in servers})
    assert tally.clean, tally
    assert max(tally.detect_s) <= 2 * POWER_SYNC_INTERVAL + 1, tally.detect_s
