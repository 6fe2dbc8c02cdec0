"""The conductor's two RPC endpoints on topic ``conductor``.

* :class:`ComputeReportEndpoint` (default namespace): the compute-report API
  of :mod:`nova_common.virt.report_api`, derived from its declarations. Every
  message is validated against them; a bad cast is logged and dropped, a bad
  registration answers InvalidRequest, and the conductor keeps serving. A
  heartbeat or report from a host the conductor does not know asks that host
  to register again.
* :class:`ConductorAPIEndpoint` (namespace ``conductor_api``, version 1.0): what
  the Python API (and the REST API to come) calls. Returns plain dicts; raises
  only :mod:`nova_common.compute.exceptions`.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import oslo_messaging
from oslo_log import log as logging

from nova_common.compute import exceptions as core_exc
from nova_common.conductor.manager import ConductorManager, InvalidReport, UnregisteredHost
from nova_common.conductor.rpcapi import CONDUCTOR_API_NAMESPACE, CONDUCTOR_API_VERSION
from nova_common.virt import exceptions as virt_exc
from nova_common.virt import report_api
from nova_common.virt.report_api import REPORT_API_VERSION
from nova_common.virt.rpcapi import COMPUTE_TOPIC

LOG = logging.getLogger(__name__)


#: At most one request_registration per host per this many seconds.
_REREGISTER_EVERY = 5.0


class _ReportHandler:
    """Runs each compute-report message on the manager with the conductor's
    policy: casts that fail are counted, logged and dropped; a registration
    that fails answers InvalidRequest naming why."""

    def __init__(self, endpoint: ComputeReportEndpoint) -> None:
        self._endpoint = endpoint

    def __getattr__(self, name: str) -> Callable[..., Any]:
        message = report_api.COMPUTE_REPORT[name]
        endpoint = self._endpoint
        manager = endpoint.manager

        def handle(**kwargs: Any) -> Any:
            try:
                return getattr(manager, name)(**kwargs)
            except UnregisteredHost as error:
                manager.stats["dropped"] += 1
                LOG.info("Dropped %s message: %s; asking the host to register", name, error)
                endpoint.ask_to_register(kwargs.get("host"))
            except (InvalidReport, TypeError, AttributeError, ValueError) as error:
                manager.stats["dropped"] += 1
                if message.kind == report_api.CALL:
                    LOG.warning("Refused %s message %r: %s", name, _summary(kwargs), error)
                    raise virt_exc.InvalidRequest(
                        field=name, value=kwargs.get("host"), reason=str(error)
                    ) from None
                LOG.warning("Dropped %s message %r: %s", name, _summary(kwargs), error)
            except Exception:
                manager.stats["dropped"] += 1
                LOG.exception("Failed to process %s message %r", name, _summary(kwargs))
                if message.kind == report_api.CALL:
                    raise
            return None

        return handle


def _summary(kwargs: dict[str, Any]) -> str:
    text = repr(kwargs)
    return text if len(text) < 300 else text[:300] + "..."


_ComputeReportAPI: Any = report_api.endpoint_class(
    "_ComputeReportAPI", report_api.COMPUTE_REPORT, REPORT_API_VERSION
)


class ComputeReportEndpoint(_ComputeReportAPI):
    def __init__(self, manager: ConductorManager) -> None:
        super().__init__(_ReportHandler(self))
        self.manager = manager
        self._asked: dict[str, float] = {}
        self._asked_lock = threading.Lock()

    def refused(self, message: report_api.Message, kwargs: dict[str, Any], error: Exception) -> None:
        self.manager.stats["dropped"] += 1
        LOG.warning("Dropped %s message %r: %s", message.name, _summary(kwargs), error)

    def ask_to_register(self, host: Any) -> None:
        """Ask ``host`` (which the conductor does not know) to register again,
        at most once per few seconds per host."""
        if not isinstance(host, str):
            return
        now = time.monotonic()
        with self._asked_lock:
            if now - self._asked.get(host, -_REREGISTER_EVERY) < _REREGISTER_EVERY:
                return
            self._asked[host] = now
        target = oslo_messaging.Target(
            topic=COMPUTE_TOPIC,
            server=host,
            namespace=report_api.SERVICE_CONTROL_NAMESPACE,
            version=report_api.REPORT_API_VERSION,
        )
        try:
            client = report_api.MessageClient(self.manager.virt.transport, target, report_api.SERVICE_CONTROL)
            client.send("request_registration")
        except Exception as error:  # the host will heartbeat again; we will ask again
            LOG.warning("Could not ask host %s to register: %s", host, error)


def _api(method: Callable[..., Any]) -> Callable[..., Any]:
    @oslo_messaging.expected_exceptions(core_exc.CoreError)
    @functools.wraps(method)
    def wrapper(self: ConductorAPIEndpoint, ctxt: Any, **kwargs: Any) -> Any:
        try:
            return method(self, ctxt, **kwargs)
        except core_exc.CoreError:
            raise
        except TypeError as error:  # wrong or missing arguments
            raise core_exc.Invalid(field="arguments", value=sorted(kwargs), reason=str(error)) from None

    return wrapper


def _request_id(ctxt: Any) -> str | None:
    return ctxt.get("request_id") if isinstance(ctxt, dict) else None


class ConductorAPIEndpoint:
    target = oslo_messaging.Target(namespace=CONDUCTOR_API_NAMESPACE, version=CONDUCTOR_API_VERSION)

    def __init__(self, manager: ConductorManager) -> None:
        self.manager = manager
        self.db = manager.db

    # instances
    @_api
    def create_instance(self, ctxt: Any, name: Any, flavor: Any, image: Any, metadata: Any = None) -> Any:
        return self.manager.create_instance(name, flavor, image, metadata, request_id=_request_id(ctxt))

    @_api
    def instance_action(self, ctxt: Any, instance_uuid: Any, action: Any, args: Any = None) -> Any:
        if not isinstance(args, dict | None):
            raise core_exc.Invalid(field="args", value=args, reason="must be a mapping")
        return self.manager.instance_action(instance_uuid, action, _request_id(ctxt), **(args or {}))

    @_api
    def show_instance(self, ctxt: Any, instance_uuid: Any) -> Any:
        return self.manager.show_instance(instance_uuid)

    @_api
    def list_instances(self, ctxt: Any, host: Any = None, include_deleted: bool = False) -> Any:
        return self.db.list_instances(host=host, include_deleted=bool(include_deleted))

    @_api
    def count_instances(self, ctxt: Any) -> Any:
        return self.db.count_instances()

    @_api
    def get_action(self, ctxt: Any, instance_uuid: Any, request_id: Any) -> Any:
        action = self.db.get_action(instance_uuid, request_id)
        if action is None:
            raise core_exc.NotFound(field="action", value=request_id)
        return action

    @_api
    def list_actions(self, ctxt: Any, instance_uuid: Any) -> Any:
        return self.db.list_actions(instance_uuid)

    @_api
    def list_faults(self, ctxt: Any, instance_uuid: Any) -> Any:
        return self.db.list_faults(instance_uuid)

    # flavors
    @_api
    def list_flavors(self, ctxt: Any) -> Any:
        return self.db.list_flavors()

    @_api
    def create_flavor(
        self,
        ctxt: Any,
        name: Any,
        vcpus: Any,
        memory_mb: Any,
        root_gb: Any = 0,
        flavorid: Any = None,
        ephemeral_gb: Any = 0,
        swap_mb: Any = 0,
        extra_specs: Any = None,
    ) -> Any:
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise core_exc.Invalid(field="name", value=name, reason="must be 1-255 characters")
        for field, value, minimum in (
            ("vcpus", vcpus, 1),
            ("memory_mb", memory_mb, 1),
            ("root_gb", root_gb, 0),
            ("ephemeral_gb", ephemeral_gb, 0),
            ("swap_mb", swap_mb, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 2**31 - 1:
                raise core_exc.Invalid(field=field, value=value, reason=f"must be an integer >= {minimum}")
        flavorid = str(flavorid) if flavorid is not None else name
        if self.db.get_flavor(name) or self.db.get_flavor(flavorid):
            raise core_exc.Conflict(reason=f"a flavor named {name!r} or with id {flavorid!r} exists")
        return self.db.create_flavor(
            dict(
                flavorid=flavorid,
                name=name,
                vcpus=vcpus,
                memory_mb=memory_mb,
                root_gb=root_gb,
                ephemeral_gb=ephemeral_gb,
                swap_mb=swap_mb,
                extra_specs=dict(extra_specs or {}),
            )
        )

    @_api
    def delete_flavor(self, ctxt: Any, flavor: Any) -> Any:
        try:
            if not self.db.delete_flavor(flavor):
                raise core_exc.NotFound(field="flavor", value=flavor)
        except ValueError as error:
            raise core_exc.Conflict(reason=str(error)) from None

    # images
    @_api
    def list_images(self, ctxt: Any) -> Any:
        return self.db.list_images()

    @_api
    def show_image(self, ctxt: Any, image_id: Any) -> Any:
        image = self.db.get_image(image_id) if isinstance(image_id, str) else None
        if image is None:
            raise core_exc.NotFound(field="image", value=image_id)
        return image

    @_api
    def create_image(
        self,
        ctxt: Any,
        name: Any,
        disk_format: str = "raw",
        container_format: str = "bare",
        min_ram_mb: int = 0,
        min_disk_gb: int = 0,
        properties: Any = None,
        image_id: Any = None,
    ) -> Any:
        import uuid

        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise core_exc.Invalid(field="name", value=name, reason="must be 1-255 characters")
        for field, value in (("min_ram_mb", min_ram_mb), ("min_disk_gb", min_disk_gb)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise core_exc.Invalid(field=field, value=value, reason="must be an integer >= 0")
        properties = properties or {}
        if not isinstance(properties, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in properties.items()
        ):
            raise core_exc.Invalid(field="properties", value=properties, reason="must map strings to strings")
        try:
            image_id = str(uuid.UUID(str(image_id))) if image_id else str(uuid.uuid4())
        except ValueError:
            raise core_exc.Invalid(field="image_id", value=image_id, reason="not a UUID") from None
        if self.db.get_image(image_id):
            raise core_exc.Conflict(reason=f"image {image_id} exists")
        return self.db.create_image(
            dict(
                id=image_id,
                name=name,
                disk_format=disk_format,
                container_format=container_format,
                min_ram_mb=min_ram_mb,
                min_disk_gb=min_disk_gb,
                size_bytes=0,
                properties=properties,
                status="active",
            )
        )

    # services
    @_api
    def list_services(self, ctxt: Any) -> Any:
        return [self.manager.service_view(s) for s in self.db.list_services()]

    @_api
    def set_service_enabled(self, ctxt: Any, host: Any, enabled: Any, reason: Any = None) -> Any:
        service = self.db.set_service_enabled(host, bool(enabled), reason)
        if service is None:
            raise core_exc.NotFound(field="host", value=host)
        self.manager.scheduler.invalidate()
        return self.manager.service_view(service)
