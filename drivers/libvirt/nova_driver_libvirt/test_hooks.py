"""The libvirt driver's test hooks (:mod:`nova_common.virt.test_hooks`), for the contract kit.

Each hook acts on libvirt directly, as a guest or an admin with ``virsh``
would, never through the driver's operations or its ownership cache:

* ``crash``: ``coreDumpWithFormat(..., VIR_DUMP_CRASH)``, after which libvirt
  reports the domain shut off with reason CRASHED and emits a STOPPED/CRASHED
  lifecycle event, as for a guest that crashed with ``on_crash=destroy``
  (libvirt's test driver supports it; on QEMU it also writes a memory dump).
* ``set_power_state``: create / resume (running), destroy (shutdown),
  suspend (paused), managedSave (suspended).
* ``hypervisor_instances``: every domain carrying our metadata, read from
  ``listAllDomains`` and each domain's metadata, not from the cache.

* ``fail_next``: the next libvirt call that does the operation's work
  (:data:`REFUSABLE`) fails as libvirt fails a refused operation, so the
  driver's own error handling and cleanup run.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING

import libvirt

from nova_common.objects.fields import PowerState
from nova_common.virt import exceptions as exc
from nova_common.virt.test_hooks import DriverTestHooks
from nova_driver_libvirt import states

if TYPE_CHECKING:
    from nova_driver_libvirt.connection import CountedDomain
    from nova_driver_libvirt.driver import LibvirtDriver


#: The libvirt call that does the work of each operation that declares OperationFailed.
REFUSABLE: dict[str, str] = {
    "spawn": "virDomain.create",
    "snapshot": "virDomain.snapshotCreateXML",
    "attach_volume": "virDomain.attachDeviceFlags",
    "detach_volume": "virDomain.detachDeviceFlags",
}


class LibvirtTestHooks(DriverTestHooks):
    def __init__(self, driver: LibvirtDriver) -> None:
        self.driver = driver

    def _domain(self, instance_uuid: str) -> CountedDomain:
        conn = self.driver._conn_or_unavailable()
        try:
            dom = conn.lookupByUUIDString(instance_uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                raise exc.InstanceNotFound(instance_uuid=instance_uuid) from None
            raise
        if self.driver._read_metadata(dom) is None:  # never touch what is not ours
            raise exc.InstanceNotFound(instance_uuid=instance_uuid)
        return dom

    def crash(self, instance_uuid: str) -> None:
        dom = self._domain(instance_uuid)
        handle, path = tempfile.mkstemp(prefix="nova-libvirt-crash-")
        os.close(handle)
        try:
            dom.coreDumpWithFormat(path, libvirt.VIR_DOMAIN_CORE_DUMP_FORMAT_RAW, libvirt.VIR_DUMP_CRASH)
        finally:
            os.unlink(path)

    def set_power_state(self, instance_uuid: str, state: str) -> None:
        dom = self._domain(instance_uuid)
        current, raw = self.driver._state(dom)
        if current == state:
            return
        if state == PowerState.CRASHED:
            self.crash(instance_uuid)
        elif state == PowerState.RUNNING and current == PowerState.PAUSED:
            dom.resume()
        elif state == PowerState.RUNNING and not states.is_active(raw):
            dom.create()  # restores from a managed-save image when there is one
        elif state == PowerState.SHUTDOWN and states.is_active(raw):
            dom.destroy()
        elif state == PowerState.PAUSED and current == PowerState.RUNNING:
            dom.suspend()
        elif state == PowerState.SUSPENDED and current in (PowerState.RUNNING, PowerState.PAUSED):
            dom.managedSave(0)
        else:
            raise exc.InvalidRequest(
                field="state", value=state, reason=f"cannot go there from {current} behind the driver's back"
            )

    def hypervisor_instances(self) -> list[str]:
        conn = self.driver._conn_or_unavailable()
        found = []
        for dom in conn.listAllDomains(0):
            try:
                if self.driver._read_metadata(dom) is not None:
                    found.append(dom.UUIDString())
            except libvirt.libvirtError as error:
                if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:  # gone meanwhile
                    raise
        return found

    def fail_next(self, operation: str) -> None:
        call = REFUSABLE.get(operation)
        if call is None:
            raise exc.InvalidRequest(
                field="operation", value=operation, reason=f"one of {', '.join(sorted(REFUSABLE))}"
            )
        self.driver.counter.refuse_next(call)
