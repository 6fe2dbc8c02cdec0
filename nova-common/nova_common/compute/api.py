"""The Python API of the compute core: a client of the conductor API.

Every instance operation is accepted or refused at once (NotFound, Invalid,
Conflict, NoValidHost, ...); with ``wait=True`` (the default) the call then
waits until the operation finished on the compute host and raises
:class:`~nova_common.compute.exceptions.OperationFailed` when it failed.
``wait=False`` returns the accepted instance (with its ``request_id``).

    api = ComputeAPI(conf)                      # or ComputeAPI(conf, transport)
    vm = api.create("web-1", flavor="m1.small", image=DEFAULT_IMAGE)
    api.stop(vm["uuid"])
"""

from __future__ import annotations

import time
from typing import Any

import oslo_messaging
from oslo_config import cfg

from nova_common.compute import exceptions as core_exc
from nova_common.conductor.rpcapi import ConductorAPIClient, get_core_transport
from nova_common.scaffold.reporting import CONDUCTOR_TOPIC

DEFAULT_IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"  # "cirros", seeded by the first migration


class ComputeAPI:
    def __init__(
        self,
        conf: cfg.ConfigOpts | None = None,
        transport: oslo_messaging.Transport | None = None,
        timeout: int = 60,
        poll_interval: float = 0.05,
    ) -> None:
        conf = conf if conf is not None else cfg.ConfigOpts()
        self._own_transport = transport is None
        self.transport = transport or get_core_transport(conf)
        try:
            topic = conf.conductor.topic
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            topic = CONDUCTOR_TOPIC  # a bare ConfigOpts: the default topic
        self.rpc = ConductorAPIClient(self.transport, timeout=timeout, topic=topic)
        self.timeout = timeout
        self.poll_interval = poll_interval

    def close(self) -> None:
        if self._own_transport:
            self.transport.cleanup()

    # -- waiting --------------------------------------------------------------

    def wait_for_action(
        self, instance_uuid: str, request_id: str, timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait until the action finished; raise OperationFailed if it failed."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            action = self.rpc.call("get_action", instance_uuid=instance_uuid, request_id=request_id)
            if action["finish_time"] is not None:
                if action["result"] != "success":
                    raise core_exc.OperationFailed(
                        action=action["action"], instance_uuid=instance_uuid, reason=action["message"]
                    )
                return action
            if time.monotonic() > deadline:
                raise core_exc.Timeout(
                    timeout=timeout or self.timeout, what=f"{action['action']} of {instance_uuid}"
                )
            time.sleep(self.poll_interval)

    def _act(self, instance_uuid: str, action: str, wait: bool, **args: Any) -> dict[str, Any]:
        accepted = self.rpc.call("instance_action", instance_uuid=instance_uuid, action=action, args=args)
        if not wait:
            return accepted
        self.wait_for_action(instance_uuid, accepted["request_id"])
        if action == "delete":
            return accepted
        return self.show(instance_uuid)

    # -- instances ------------------------------------------------------------

    def create(
        self,
        name: str,
        flavor: str,
        image: str = DEFAULT_IMAGE,
        metadata: dict[str, str] | None = None,
        wait: bool = True,
        description: str | None = None,
        key_name: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """``request_id``: the client's, to make a retry safe: a create with a
        request id the conductor already made an instance for returns that one."""
        # Only what is set travels: a conductor without these arguments still serves the rest.
        extra = {k: v for k, v in (("description", description), ("key_name", key_name)) if v is not None}
        arguments = dict(name=name, flavor=flavor, image=image, metadata=metadata, **extra)
        if request_id is None:
            accepted = self.rpc.call("create_instance", **arguments)
        else:
            accepted = self.rpc.call_as(request_id, "create_instance", **arguments)
        if not wait:
            return accepted
        self.wait_for_action(accepted["uuid"], accepted["request_id"])
        return self.show(accepted["uuid"])

    def delete(self, instance_uuid: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "delete", wait)

    def reboot(self, instance_uuid: str, reboot_type: str = "soft", wait: bool = True) -> dict[str, Any]:
        if reboot_type not in ("soft", "hard"):
            raise core_exc.Invalid(field="reboot_type", value=reboot_type, reason="must be 'soft' or 'hard'")
        return self._act(instance_uuid, "reboot" if reboot_type == "soft" else "reboot_hard", wait)

    def stop(self, instance_uuid: str, timeout: int = 0, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "stop", wait, timeout=timeout)

    def start(self, instance_uuid: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "start", wait)

    def pause(self, instance_uuid: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "pause", wait)

    def unpause(self, instance_uuid: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "unpause", wait)

    def suspend(self, instance_uuid: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "suspend", wait)

    def resume(self, instance_uuid: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "resume", wait)

    def snapshot(self, instance_uuid: str, name: str, wait: bool = True) -> dict[str, Any]:
        """Returns the new image (with ``wait``), else the accepted instance."""
        accepted = self.rpc.call(
            "instance_action", instance_uuid=instance_uuid, action="snapshot", args={"name": name}
        )
        if not wait:
            return accepted
        action = self.wait_for_action(instance_uuid, accepted["request_id"])
        image_id = action["message"].split("'")[3]
        return self.rpc.call("show_image", image_id=image_id)

    def attach_volume(self, instance_uuid: str, volume_id: str, mountpoint: str, wait: bool = True):
        return self._act(instance_uuid, "attach_volume", wait, volume_id=volume_id, mountpoint=mountpoint)

    def detach_volume(self, instance_uuid: str, volume_id: str, wait: bool = True) -> dict[str, Any]:
        return self._act(instance_uuid, "detach_volume", wait, volume_id=volume_id)

    def update(self, instance_uuid: str, **values: Any) -> dict[str, Any]:
        """Set ``name``, ``description``, ``metadata`` or ``tags`` (each replaced whole)."""
        return self.rpc.call("update_instance", instance_uuid=instance_uuid, values=values)

    def show(self, instance_uuid: str) -> dict[str, Any]:
        return self.rpc.call("show_instance", instance_uuid=instance_uuid)

    def list(self, host: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        return self.rpc.call("list_instances", host=host, include_deleted=include_deleted)

    def instance_stamps(self, host: str | None = None) -> list[list[Any]]:
        """``[uuid, stamp, name, vm_state, task_state, host]`` per live instance, oldest
        first; the stamp changes whenever the row does."""
        return self.rpc.call("list_instance_stamps", host=host)

    def instances(self, uuids: list[str]) -> list[dict[str, Any]]:
        """The live instances among ``uuids``."""
        return self.rpc.call("get_instances", uuids=uuids)

    def count_by_state(self) -> dict[str, int]:
        return self.rpc.call("count_instances")

    def actions(self, instance_uuid: str) -> list[dict[str, Any]]:
        return self.rpc.call("list_actions", instance_uuid=instance_uuid)

    def faults(self, instance_uuid: str) -> list[dict[str, Any]]:
        return self.rpc.call("list_faults", instance_uuid=instance_uuid)

    # -- catalog and services ----------------------------------------------------

    def flavors(self) -> list[dict[str, Any]]:
        return self.rpc.call("list_flavors")

    def create_flavor(self, name: str, vcpus: int, memory_mb: int, root_gb: int = 0, **extra: Any):
        return self.rpc.call(
            "create_flavor", name=name, vcpus=vcpus, memory_mb=memory_mb, root_gb=root_gb, **extra
        )

    def delete_flavor(self, flavor: str) -> None:
        self.rpc.call("delete_flavor", flavor=flavor)

    def images(self) -> list[dict[str, Any]]:
        return self.rpc.call("list_images")

    def show_image(self, image_id: str) -> dict[str, Any]:
        return self.rpc.call("show_image", image_id=image_id)

    def create_image(self, name: str, **values: Any) -> dict[str, Any]:
        return self.rpc.call("create_image", name=name, **values)

    def create_keypair(
        self, name: str, public_key: str | None = None, key_type: str = "ssh", user_id: str | None = None
    ) -> dict[str, Any]:
        """Import ``public_key``, or generate one (the result has ``private_key`` then)."""
        return self.rpc.call(
            "create_keypair", name=name, public_key=public_key, key_type=key_type, user_id=user_id
        )

    def keypairs(self, user_id: str | None = None) -> list[dict[str, Any]]:
        return self.rpc.call("list_keypairs", user_id=user_id)

    def show_keypair(self, name: str, user_id: str | None = None) -> dict[str, Any]:
        return self.rpc.call("show_keypair", name=name, user_id=user_id)

    def delete_keypair(self, name: str, user_id: str | None = None) -> None:
        self.rpc.call("delete_keypair", name=name, user_id=user_id)

    def services(self) -> list[dict[str, Any]]:
        return self.rpc.call("list_services")

    def disable_service(self, host: str, reason: str) -> dict[str, Any]:
        return self.rpc.call("set_service_enabled", host=host, enabled=False, reason=reason)

    def enable_service(self, host: str) -> dict[str, Any]:
        return self.rpc.call("set_service_enabled", host=host, enabled=True)
