"""How the kit reaches a driver: in process, or black-box over a transport.

Both targets expose ``call(operation, **kwargs)`` with the semantics of the
virt RPC API, so every scenario runs unchanged in either mode:

* :class:`InProcessTarget` builds the driver itself and calls it through the
  scaffold's :class:`~nova_common.scaffold.dispatcher.DriverDispatcher`
  (capability gating, argument checks, error mapping), serialising every
  argument and result exactly as the wire would.
* :class:`BlackBoxTarget` talks to a compute service it did not start, by
  transport URL and host name, and imports nothing of the driver.

Either may have the driver's test hooks (:attr:`Target.hooks`): in process
from :meth:`~nova_common.virt.api.ComputeDriver.test_hooks`, black-box over
RPC when the service serves them (``[compute] enable_test_hooks``).
"""

from __future__ import annotations

import uuid
from typing import Any

import oslo_messaging
from oslo_config import cfg
from oslo_serialization import jsonutils

from nova_common import messaging, objects
from nova_common.messaging import conf as messaging_conf
from nova_common.messaging.serializer import ObjectSerializer
from nova_common.scaffold import conf as scaffold_conf
from nova_common.scaffold.dispatcher import DriverDispatcher
from nova_common.scaffold.loader import load_driver_class
from nova_common.scaffold.test_hooks_endpoint import NAMESPACE as HOOKS_NAMESPACE
from nova_common.scaffold.test_hooks_endpoint import VERSION as HOOKS_VERSION
from nova_common.virt import api, rpcapi
from nova_common.virt.api import ComputeDriver
from nova_common.virt.test_hooks import DriverTestHooks
from nova_contract_tests.config import KitConfig
from nova_contract_tests.core_side import CoreSide
from nova_contract_tests.events import EventLog


class Target:
    """What scenarios call. ``driver_info`` is filled by :meth:`open`, and so
    are ``hooks`` (the driver's test hooks, or None) and ``events`` (what
    the driver emitted, where the kit can see it, or None)."""

    mode = "abstract"
    driver_info: objects.DriverInfo
    #: The kit's side of the service's report channel (black-box with a report topic).
    core_side: CoreSide | None = None
    hooks: DriverTestHooks | None = None
    events: EventLog | None = None

    @property
    def hook_names(self) -> frozenset[str]:
        """The test hooks the driver provides here."""
        return self.hooks.provided() if self.hooks is not None else frozenset()

    def open(self) -> None:
        raise NotImplementedError

    def call(self, operation: str, /, **kwargs: Any) -> Any:
        raise NotImplementedError

    def call_within(self, operation: str, seconds: float, /, **kwargs: Any) -> Any:
        """:meth:`call`, giving up on an answer after ``seconds`` where the
        transport allows (in process the kit abandons the call instead)."""
        return self.call(operation, **kwargs)

    def close(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode}


def load_driver(spec: str, config_files: list[str]) -> ComputeDriver:
    """Build (not start) a driver as a compute service would."""
    conf = cfg.ConfigOpts()
    scaffold_conf.register_opts(conf)
    messaging_conf.register_opts(conf)
    driver_cls = load_driver_class(spec)
    driver_cls.register_opts(conf)
    conf(args=[], project="nova", default_config_files=list(config_files))
    return driver_cls(conf)


class InProcessTarget(Target):
    mode = "in-process"

    def __init__(self, config: KitConfig, driver: ComputeDriver | None = None) -> None:
        self.config = config
        self.driver = driver
        self.dispatcher: DriverDispatcher | None = None
        self._serializer = ObjectSerializer()

    def open(self) -> None:
        if self.driver is None:
            assert self.config.driver
            self.driver = load_driver(self.config.driver, self.config.config_files)
        self.driver.start()
        self.dispatcher = DriverDispatcher(self.driver)
        self.events = EventLog()
        self.driver.set_event_handler(self.events.append)
        self.hooks = self.driver.test_hooks()
        self.driver_info = self.call("get_driver_info")

    def _over_the_wire(self, value: Any) -> Any:
        primitive = self._serializer.serialize_entity({}, value)
        return self._serializer.deserialize_entity({}, jsonutils.loads(jsonutils.dumps(primitive)))

    def call(self, operation: str, /, **kwargs: Any) -> Any:
        assert self.dispatcher is not None, "open() the target first"
        wire_kwargs = {name: self._over_the_wire(value) for name, value in kwargs.items()}
        result = self.dispatcher.dispatch(operation, wire_kwargs, "req-" + uuid.uuid4().hex)
        return self._over_the_wire(result)

    def close(self) -> None:
        if self.driver is not None:
            self.driver.set_event_handler(None)
            self.driver.stop()

    def describe(self) -> dict[str, Any]:
        return {"mode": self.mode, "driver": self.config.driver, "config_files": self.config.config_files}


class BlackBoxTarget(Target):
    mode = "black-box"

    def __init__(self, config: KitConfig) -> None:
        self.config = config
        self._client: rpcapi.VirtAPIClient | None = None
        self._host: rpcapi.HostClient | None = None

    def open(self) -> None:
        conf = cfg.ConfigOpts()
        messaging_conf.register_opts(conf)
        conf(args=[], project="nova", default_config_files=[])
        assert self.config.transport_url and self.config.host
        from nova_common.messaging.transport import get_transport

        messaging.setup(conf)  # the kit is a client: no patch is measured for it
        transport = get_transport(conf, self.config.transport_url)
        self._client = rpcapi.VirtAPIClient(conf, transport=transport, timeout=self.config.rpc_timeout)
        self._transport = transport
        if self.config.report_topic:
            self.core_side = CoreSide(
                transport, self.config.report_topic, self.config.host, self.config.core_object_versions
            )
            self.core_side.start()
        self._host = self._client.host(self.config.host)
        self._host.pin()
        assert self._host.driver_info is not None
        self.driver_info = self._host.driver_info
        self.hooks = RemoteTestHooks.probe(transport, self.config.host)

    def call(self, operation: str, /, **kwargs: Any) -> Any:
        assert self._host is not None, "open() the target first"
        return self._host.call(operation, **kwargs)

    def call_within(self, operation: str, seconds: float, /, **kwargs: Any) -> Any:
        assert self._host is not None, "open() the target first"
        op = api.OPERATIONS[operation]
        return self._host.call_within(operation, min(float(op.rpc_timeout), seconds), **kwargs)

    def close(self) -> None:
        if self.core_side is not None:
            self.core_side.stop()
        if self._client is not None:
            self._transport.cleanup()

    def describe(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "transport_url": _redact(self.config.transport_url or ""),
            "host": self.config.host,
            "pinned_version": self._host.version if self._host else None,
            "report_topic": self.config.report_topic,
        }


class RemoteTestHooks(DriverTestHooks):
    """A compute service's test hooks, over RPC
    (:mod:`nova_common.scaffold.test_hooks_endpoint`)."""

    #: Seconds to wait for a hook's answer (hooks act on the hypervisor at once).
    TIMEOUT = 30

    def __init__(self, client: oslo_messaging.RPCClient, provided: frozenset[str]) -> None:
        self._client = client
        self._provided = provided

    @classmethod
    def probe(cls, transport: oslo_messaging.Transport, host: str) -> RemoteTestHooks | None:
        """The hooks of ``host``, or None when it does not serve them."""
        target = oslo_messaging.Target(
            topic=rpcapi.COMPUTE_TOPIC, server=host, namespace=HOOKS_NAMESPACE, version=HOOKS_VERSION
        )
        client = oslo_messaging.get_rpc_client(
            transport, target, serializer=ObjectSerializer(), timeout=cls.TIMEOUT
        )
        try:
            provided = client.prepare(timeout=10).call({}, "provided")
        except (oslo_messaging.MessagingException, oslo_messaging.RemoteError):
            return None  # not enabled on that service (UnsupportedVersion comes back at once)
        return cls(client, frozenset(provided))

    def provided(self) -> frozenset[str]:
        return self._provided

    def crash(self, instance_uuid: str) -> None:
        self._client.call({}, "crash", instance_uuid=instance_uuid)

    def set_power_state(self, instance_uuid: str, state: str) -> None:
        self._client.call({}, "set_power_state", instance_uuid=instance_uuid, state=state)

    def hypervisor_instances(self) -> list[str]:
        return list(self._client.call({}, "hypervisor_instances"))

    def fail_next(self, operation: str) -> None:
        self._client.call({}, "fail_next", operation=operation)


def _redact(url: str) -> str:
    """Drop the password from a transport URL before it reaches a report."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, location = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{location}"


def make_target(config: KitConfig) -> Target:
    config.validate()
    return BlackBoxTarget(config) if config.transport_url else InProcessTarget(config)
