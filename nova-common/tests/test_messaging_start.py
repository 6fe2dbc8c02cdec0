"""Messaging starts explicitly: importing nova-common changes nothing outside
it, and a process applies a patch of kombu or oslo.messaging only when
configured to (nova_common.messaging)."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap
import uuid

import pytest
from common_test_helpers import RABBIT_URL, rabbit_available

TESTS = pathlib.Path(__file__).parent

#: Prints what nova-common could change outside itself, as JSON.
SNAPSHOT = textwrap.dedent(
    """
    import json, logging, signal, sys, threading, warnings

    def handlers(logger):  # a library's NullHandler on its own logger is no effect of ours
        return len([h for h in logger.handlers if not isinstance(h, logging.NullHandler)])

    def qualname(function):
        return f"{function.__module__}.{function.__qualname__}"

    def snapshot():
        from oslo_service import backend  # loads no backend
        state = {
            "backend": str(backend.get_backend_type()),
            "warnings": [repr(f) for f in warnings.filters],
            "loggers": sorted(
                (name, handlers(l), len(l.filters), l.level)
                for name, l in logging.Logger.manager.loggerDict.items()
                if isinstance(l, logging.Logger) and (handlers(l) or l.filters or l.level)
                # SQLAlchemy sets its own logger to WARNING when it is imported: its effect, not ours.
                and not (name == "sqlalchemy" and l.level == logging.WARNING and not handlers(l))
            ),
            "root": [len(logging.root.handlers), len(logging.root.filters), logging.root.level],
            "signals": {s.name: repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)},
            "threads": sorted(t.name for t in threading.enumerate()),
            "path": list(sys.path),
        }
        if "kombu" in sys.modules:
            import kombu, kombu.transport
            from kombu.utils import objects
            state["kombu"] = [
                qualname(objects.cached_property.__get__),
                qualname(kombu.Connection.autoretry),
                kombu.transport.TRANSPORT_ALIASES.get("memory"),
            ]
        if "oslo_messaging._drivers.impl_rabbit" in sys.modules:
            from oslo_messaging._drivers import impl_rabbit
            state["oslo_messaging"] = qualname(impl_rabbit.Connection.stop_consuming)
        return state
    """
)


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", SNAPSHOT + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(TESTS), **(env or {})),
    )


def test_importing_nova_common_changes_no_global_state():
    result = _python(
        """
        before, modules = snapshot(), set(sys.modules)
        import nova_common
        after = snapshot()
        new = sorted(
            m for m in set(sys.modules) - modules
            if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] != "nova_common"
        )
        print(json.dumps({"changed": {k: [before[k], after[k]] for k in before if before[k] != after[k]},
                          "third_party_imported": new}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"changed": {}, "third_party_imported": []}
    assert result.stderr == ""  # eventlet's warning included


def test_importing_any_nova_common_module_changes_no_global_state():
    """Every module of the package, imported after the process started
    messaging, leaves the warnings, logging, signals, oslo.service's backend,
    kombu and oslo.messaging as they were."""
    result = _python(
        """
        import importlib, pkgutil
        from nova_common import messaging
        messaging.init_process()
        import kombu, kombu.transport, kombu.utils.objects, oslo_messaging
        from oslo_messaging._drivers import impl_rabbit
        import nova_common
        skipped, changed = [], {}
        # Alembic's migration scripts run only inside alembic (env.py reads alembic.context.config).
        names = [
            m.name
            for m in pkgutil.walk_packages(nova_common.__path__, "nova_common.")
            if not m.name.startswith("nova_common.db.migrations")
        ]
        for name in names:
            before = snapshot()
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as error:  # an extra that is not installed
                if error.name.split(".")[0] == "nova_common":
                    raise
                skipped.append(name)
                continue
            after = snapshot()
            diff = {k: [before[k], after[k]] for k in before if before[k] != after[k] and k != "threads"}
            if diff:
                changed[name] = diff
        print(json.dumps({"imported": len(names) - len(skipped), "changed": changed}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["changed"] == {}
    assert report["imported"] >= 25  # the base install's modules at least


def test_console_script_modules_import_no_messaging_and_start_it_first():
    """``nova-compute`` and ``nova-common`` start messaging before oslo.messaging
    loads, so oslo.service runs its threading backend and eventlet stays quiet."""
    result = _python(
        """
        import nova_common.cmd.manage, nova_common.scaffold.cmd
        loaded = "oslo_messaging" in sys.modules
        try:
            nova_common.scaffold.cmd.run(["--help"])
        except SystemExit:
            pass
        from oslo_service import backend
        print(json.dumps({"loaded_by_import": loaded, "backend": str(backend.get_backend_type())}))
        """
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "loaded_by_import": False,
        "backend": "BackendType.THREADING",
    }
    assert "Eventlet is deprecated" not in result.stderr


COMPUTE_SERVICE = """
    import sys
    from nova_common import messaging
    messaging.init_process()
    from nova_common.scaffold.cmd import build_service
    service = build_service(["--config-file", sys.argv[1]])
    service.start()
    try:
        state = snapshot()
        server = service._server
        state["executor"] = getattr(server._executor_cls, "func", server._executor_cls).__module__
        state["patches"] = messaging.setup(service.conf)
    finally:
        service.stop()
    print(json.dumps(state))
"""


def _compute_state(tmp_path, extra: str = "") -> dict:
    config = tmp_path / f"compute-{uuid.uuid4().hex[:6]}.conf"
    config.write_text(
        f"[DEFAULT]\nhost = patches-{uuid.uuid4().hex[:8]}\ntransport_url = {RABBIT_URL}\n"
        # No core answers here: a short registration timeout lets it stop at once.
        f"[compute]\ndriver = memory_driver:MemoryDriver\nregistration_timeout = 0.2\n{extra}"
    )
    result = subprocess.run(
        [sys.executable, "-c", SNAPSHOT + textwrap.dedent(COMPUTE_SERVICE), str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(TESTS)),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.skipif(
    not rabbit_available() and os.environ.get("CI") != "true",
    reason="RabbitMQ is not listening on 127.0.0.1:5672 (rabbitmq-server -detached)",
)
def test_a_compute_service_over_rabbitmq_patches_only_its_replies_unless_configured(tmp_path):
    # reply-timer-after-outage is on in every process (a compute service's replies are
    # what it fixes); the patches measured in the conductor are not.
    plain = _compute_state(tmp_path)
    assert plain["patches"] == ["reply-timer-after-outage"]
    assert _compute_state(tmp_path, "[messaging]\nreply_timer_after_outage = false\n")["patches"] == []
    assert plain["kombu"] == [
        "kombu.utils.objects.cached_property.__get__",
        "kombu.connection.Connection.autoretry",
        "kombu.transport.memory:Transport",
    ]
    assert plain["oslo_messaging"] == "oslo_messaging._drivers.impl_rabbit.Connection.stop_consuming"
    assert plain["executor"].startswith("futurist")

    configured = _compute_state(
        tmp_path,
        "[messaging]\nkombu_lock_free_reads = true\nkombu_class_free_autoretry = true\n"
        "rpc_server_standard_pool = true\n",
    )
    assert configured["patches"] == [
        "kombu-lock-free-reads",
        "kombu-class-free-autoretry",
        "rpc-server-standard-pool",
        "reply-timer-after-outage",
    ]
    assert configured["kombu"][:2] == [
        "nova_common.messaging.patches.kombu_cached_property.install.<locals>.__get__",
        "nova_common.messaging.patches.kombu_autoretry.autoretry",
    ]
    assert configured["executor"] == "concurrent.futures.thread"
    # The embedded broker's patches belong to kombu+memory://, not to RabbitMQ.
    assert configured["kombu"][2] == plain["kombu"][2]
    assert configured["oslo_messaging"] == plain["oslo_messaging"]
