"""Every patch nova-common makes to kombu and oslo.messaging, in one place.

Each :class:`Patch` says why it exists (the measurement that called for it),
where it is on by default, and the library versions and upstream code it was
written for. A patch applies only when it is enabled (its ``[messaging]``
option, or for the embedded broker the choice of ``kombu+memory://``) and
:meth:`Patch.check` finds those versions and that code installed; otherwise it
is skipped with a warning and the library's own code runs. A test
(``tests/test_messaging_patches.py``) fails when an installed library differs
from what a patch was written for, so an upgrade is re-measured, not assumed.

To move a patch to a new library release: read the upstream change, re-run
the measurement named in its ``why``, then update ``written_for`` and the
hashes (``python -m nova_common.messaging.patches`` prints the current ones).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import logging
import threading
from importlib import metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oslo_config import cfg

LOG = logging.getLogger(__name__)

#: Processes :func:`setup` knows: one running the conductor (``nova-common
#: conductor``, ``nova-common serve``), where the patches were measured, and
#: any other (a driver's compute service, ``nova-common api``, the kit).
ROLES = ("service", "conductor")

_lock = threading.Lock()


@dataclasses.dataclass(frozen=True)
class Upstream:
    """A piece of library code a patch replaces or relies on, as it was when
    the patch was written: ``module:attribute.path`` and the SHA-256 of its
    source (:func:`source_digest`)."""

    name: str
    sha256: str

    def resolve(self) -> Any:
        module, _, path = self.name.partition(":")
        obj: Any = importlib.import_module(module)
        for attr in path.split("."):
            obj = getattr(obj, attr)
        return obj


def source_digest(obj: Any) -> str:
    """SHA-256 of ``obj``'s source. A replacement we installed carries the
    original as ``__wrapped__``, so this reads the upstream code either way."""
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()


def _series(distribution: str) -> str:
    return ".".join(metadata.version(distribution).split(".")[:2])


@dataclasses.dataclass(frozen=True)
class Patch:
    """One change nova-common makes to kombu or oslo.messaging, and what it
    was written for."""

    name: str
    #: What it does, why, and the measurement (the option's help text).
    why: str
    #: Our module doing it; its ``install(*args)`` applies it.
    module: str
    #: distribution -> the ``major.minor`` series it was written for.
    written_for: dict[str, tuple[str, ...]]
    upstream: tuple[Upstream, ...]
    #: ``[messaging]`` option enabling it; None: enabled by its transport.
    option: str | None = None
    #: Roles (see :data:`ROLES`) whose processes enable it by default.
    default_on: frozenset[str] = frozenset()
    #: Process-wide (a class of the library changes) or per object.
    process_wide: bool = True

    def check(self) -> str | None:
        """Why this patch cannot apply to the installed libraries, or None."""
        for distribution, series in self.written_for.items():
            try:
                found = _series(distribution)
            except metadata.PackageNotFoundError:
                return f"{distribution} is not installed"
            if found not in series:
                return (
                    f"written for {distribution} {', '.join(series)}, found {metadata.version(distribution)}"
                )
        for piece in self.upstream:
            try:
                digest = source_digest(piece.resolve())
            except (ImportError, AttributeError) as error:
                return f"{piece.name} is gone ({error})"
            except (OSError, TypeError):
                continue  # no source to read (a zipped install): the version check stands
            if digest != piece.sha256:
                return f"{piece.name} is not the code it was written for (sha256 {digest[:12]})"
        return None

    def enabled(self, conf: cfg.ConfigOpts) -> bool:
        return self.option is not None and getattr(conf.messaging, self.option)

    def apply(self, *args: Any, **kwargs: Any) -> bool:
        """Apply it if it is :meth:`applicable` (idempotent for a process-wide
        patch); leave the library alone otherwise."""
        if not self.applicable():
            return False
        importlib.import_module(self.module).install(*args, **kwargs)
        return True

    def applicable(self) -> bool:
        """:meth:`check`, once per process; warns once when it cannot apply."""
        with _lock:
            if self.name not in _verdicts:
                reason = _verdicts[self.name] = self.check()
                if reason is not None:
                    LOG.warning("Not applying the %s patch (%s): %s", self.name, self.module, reason)
            return _verdicts[self.name] is None

    def help_text(self) -> str:
        versions = "; ".join(f"{dist} {', '.join(series)}" for dist, series in self.written_for.items())
        if set(self.default_on) == set(ROLES):
            where = "on in every process"
        elif "conductor" in self.default_on:
            where = (
                "on in a process running the conductor (nova-common conductor, nova-common serve), off "
                "in any other (a driver's compute service, nova-common api)"
            )
        else:
            where = "off"
        return (
            f"{self.why} Default: {where}. Written for {versions}; on other versions it is skipped "
            "with a warning and the library's own code runs."
        )


#: patch name -> the reason it cannot apply (None: it can), checked once per process.
_verdicts: dict[str, str | None] = {}


KOMBU_LOCK_FREE_READS = Patch(
    name="kombu-lock-free-reads",
    option="kombu_lock_free_reads",
    module="nova_common.messaging.patches.kombu_cached_property",
    why=(
        "Read kombu's cached properties (Connection.connection_errors, ...) without the RLock kombu's "
        "cached_property shares among all instances of a class. Measured: with 1,000 compute services "
        "and the conductor in one process, 630 of ~2,900 threads waited on it while creates timed out."
    ),
    written_for={"kombu": ("5.7",)},
    upstream=(
        Upstream(
            "kombu.utils.objects:cached_property.__get__",
            "6ff99ac82b0fcb3dea1737bcb64e1ae5c2120e79b6fcf78282efd9558fd9a6a3",
        ),
    ),
    default_on=frozenset({"conductor"}),
)

KOMBU_CLASS_FREE_AUTORETRY = Patch(
    name="kombu-class-free-autoretry",
    option="kombu_class_free_autoretry",
    module="nova_common.messaging.patches.kombu_autoretry",
    why=(
        "kombu's Connection.autoretry with one module-level class instead of a class built on every "
        "call (oslo.messaging wraps every publish and consume poll in it). Measured: 14% of the GIL "
        "time of a stream of RPC casts over the embedded broker; 322 -> 292 us of CPU per cast."
    ),
    written_for={"kombu": ("5.7",)},
    upstream=(
        Upstream(
            "kombu.connection:Connection.autoretry",
            "7f1d521dc88419193aaa8fd425ac62adc64cddceacbaaf77ea5c2d23849a5f79",
        ),
    ),
    default_on=frozenset({"conductor"}),
)

RPC_SERVER_STANDARD_POOL = Patch(
    name="rpc-server-standard-pool",
    option="rpc_server_standard_pool",
    module="nova_common.messaging.patches.rpc_server_pool",
    why=(
        "Run RPC servers' requests on the standard library's thread pool instead of futurist's, which "
        "adds a worker per request up to executor_thread_pool_size, each idle one waking every second. "
        "Measured: with 1,000 compute services in one process the pollers grew with every boot until "
        "boots stopped at ~1,230 (98% system CPU); after, 3,000 boots at 75/s."
    ),
    written_for={"oslo.messaging": ("18.3",)},
    upstream=(
        Upstream(
            "oslo_messaging.server:MessageHandlingServer.__init__",
            "28f1a671f9088d113d1568608517ff2fdb3f6765f13bf89b5ad06e25702f23f8",
        ),
        Upstream(
            "oslo_messaging.server:MessageHandlingServer._on_incoming",
            "8da81401181dbd68dc07a7e5ea5de03eeb0566f147fb0f3437cc09ff4a016b3c",
        ),
        Upstream(
            "oslo_messaging.server:MessageHandlingServer.start",
            "f0bd72f0a3a2eda241082dc9d7d80f02ed1c2fdd81178eaeb33a42d431953c87",
        ),
        Upstream(
            "oslo_messaging.server:MessageHandlingServer.wait",
            "d161dc435778b863a280fcca0b17e124c7f27d984e3e891529856a2b633ce9d5",
        ),
    ),
    default_on=frozenset({"conductor"}),
    process_wide=False,
)

EMBEDDED_BROKER = Patch(
    name="embedded-broker",
    module="nova_common.messaging.embedded_broker",
    why=(
        "kombu's memory transport (kombu+memory://) made event-driven: consumers wait for a put instead "
        "of polling every 50 ms (one idle compute service cost ~2.5% of a core), topic bindings by "
        "exact key in a dict, and oslo.messaging's stop_consuming wakes the consumer. Applied when a "
        "transport on kombu+memory:// is made; otherwise kombu's own memory transport runs."
    ),
    written_for={"kombu": ("5.7",), "oslo.messaging": ("18.3",)},
    upstream=(
        Upstream(
            "kombu.transport.memory:Channel",
            "9b7b408d5a9031cb9f0c322d2f747b47c61cae2aeb839096b4bf55a5764bb7c1",
        ),
        Upstream(
            "kombu.transport.memory:Transport",
            "c1fce0551a051cd0e8abba0b65abd247e1950c9d65bcaa07deee21f682a2231b",
        ),
        Upstream(
            "kombu.transport.virtual.base:Channel.basic_consume",
            "0fec962694938b61b8a6b82bfff9c3c8baeef2f2877d64adf30a8c6fdbfca2e6",
        ),
        Upstream(
            "kombu.transport.virtual.base:Channel.basic_cancel",
            "1beb5cf96c9a2cb45d875fc46f78b243e4911603193be72421fd4cb1923812fa",
        ),
        Upstream(
            "kombu.transport.virtual.base:Channel.basic_ack",
            "3b4278c757b44675f86fef3838b0e2fd4311d2e77944725e33f875f9378f02a1",
        ),
        Upstream(
            "kombu.transport.virtual.base:Transport.drain_events",
            "dc55900aa0d2f4e81d870232b743bd0eb71fc2dfe0812d9d8e03f5986a9cbbdb",
        ),
        Upstream(
            "kombu.transport.virtual.exchange:TopicExchange",
            "18f3baad2c4ef27d8a7910f706a0f1f20b8af20ba8e63a2d702b6470bb262944",
        ),
        Upstream(
            "oslo_messaging._drivers.impl_rabbit:Connection.stop_consuming",
            "b765223fafe977f32c09fa356dd05b4fa62880ae200a999540e66e1065210d43",
        ),
    ),
)

REPLY_TIMER_AFTER_OUTAGE = Patch(
    name="reply-timer-after-outage",
    option="reply_timer_after_outage",
    module="nova_common.messaging.patches.reply_retry_timer",
    why=(
        "Start an RPC reply's missing-queue timer (kombu_missing_consumer_retry_timeout) at the first "
        "missing-queue answer instead of before a send that blocks through a broker outage. Measured: "
        "after a 90 s outage the compute services abandoned their replies at once, marked the "
        "conductor's reply queue obsolete and dropped every reply to it for a minute; four spawns "
        "waited out their 300 s timeout."
    ),
    written_for={"oslo.messaging": ("18.3",)},
    upstream=(
        Upstream(
            "oslo_messaging._drivers.amqpdriver:AMQPIncomingMessage.reply",
            "2560cb488f9bb6f86dc75e544f1de34d685afc09a4c7bbcb6761359240dbc5ee",
        ),
    ),
    default_on=frozenset(ROLES),
)

#: The patches a ``[messaging]`` option turns on.
CONFIGURABLE = (
    KOMBU_LOCK_FREE_READS,
    KOMBU_CLASS_FREE_AUTORETRY,
    RPC_SERVER_STANDARD_POOL,
    REPLY_TIMER_AFTER_OUTAGE,
)
ALL = (*CONFIGURABLE, EMBEDDED_BROKER)


def setup(conf: cfg.ConfigOpts, role: str) -> list[str]:
    """See :func:`nova_common.messaging.setup`."""
    from nova_common.messaging import conf as messaging_conf

    if role not in ROLES:
        raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
    messaging_conf.register_opts(conf)
    for patch in CONFIGURABLE:
        if role in patch.default_on:
            conf.set_default(patch.option, True, group=messaging_conf.GROUP)
    active = []
    for patch in CONFIGURABLE:
        if not patch.enabled(conf):
            continue
        if patch.process_wide:
            applied = patch.apply()
        else:  # applied where its objects are made (get_rpc_server)
            applied = patch.applicable()
        if applied:
            active.append(patch.name)
    LOG.info("Messaging patches in effect (%s process): %s", role, ", ".join(active) or "none")
    return active


def _print_digests() -> None:
    from nova_common.messaging import init_process

    init_process()
    for patch in ALL:
        for piece in patch.upstream:
            print(f"{patch.name}  {piece.name}  {source_digest(piece.resolve())}")


if __name__ == "__main__":
    _print_digests()
