"""Every patch of kombu and oslo.messaging is pinned to the code it replaces,
applied only where configured, and skipped (with a warning) elsewhere
(nova_common.messaging.patches)."""

import dataclasses
import json
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import time
from importlib import metadata

import pytest

from nova_common.messaging import patches

TESTS = pathlib.Path(__file__).parent


@pytest.mark.parametrize("patch", patches.ALL, ids=lambda p: p.name)
def test_the_installed_libraries_are_what_the_patch_was_written_for(patch):
    """Fails when kombu or oslo.messaging changed the code a patch replaces or
    relies on: re-read it, re-measure, then update the patch's pins
    (``python -m nova_common.messaging.patches`` prints the digests)."""
    for distribution, series in patch.written_for.items():
        version = metadata.version(distribution)
        assert ".".join(version.split(".")[:2]) in series, (
            f"{patch.name} was written for {distribution} {series}; {version} is installed"
        )
    for piece in patch.upstream:
        assert patches.source_digest(piece.resolve()) == piece.sha256, (
            f"{patch.name}: upstream {piece.name} changed since the patch was written"
        )
    assert patch.check() is None


def test_the_digest_reads_the_upstream_code_after_a_patch_is_installed():
    from kombu.utils import objects

    assert patches.KOMBU_LOCK_FREE_READS.apply()
    assert getattr(objects.cached_property.__get__, "_lock_free_reads", False)
    assert patches.KOMBU_LOCK_FREE_READS.check() is None


def test_a_patch_for_other_versions_or_other_code_is_skipped_with_a_warning(caplog):
    other_version = dataclasses.replace(
        patches.KOMBU_CLASS_FREE_AUTORETRY, name="test-other-version", written_for={"kombu": ("0.1",)}
    )
    assert "written for kombu 0.1, found " in other_version.check()
    changed = patches.Upstream("kombu.connection:Connection.autoretry", "0" * 64)
    other_code = dataclasses.replace(
        patches.KOMBU_CLASS_FREE_AUTORETRY, name="test-other-code", upstream=(changed,)
    )
    assert "kombu.connection:Connection.autoretry is not the code it was written for" in other_code.check()
    gone = dataclasses.replace(
        patches.KOMBU_CLASS_FREE_AUTORETRY,
        name="test-gone",
        upstream=(patches.Upstream("kombu.connection:Connection.no_such_method", "0" * 64),),
    )
    assert "is gone" in gone.check()
    with caplog.at_level(logging.WARNING, logger=patches.__name__):
        assert other_version.apply() is False
        assert other_version.apply() is False  # warned once
    warnings = [r.getMessage() for r in caplog.records if "test-other-version" in r.getMessage()]
    assert len(warnings) == 1 and "written for kombu 0.1" in warnings[0]


def test_every_configurable_patch_has_an_option_with_help():
    from nova_common.messaging import conf as messaging_conf

    opts = {opt.name: opt for opt in messaging_conf.patch_opts()}
    assert set(opts) == {patch.option for patch in patches.CONFIGURABLE}
    for patch in patches.CONFIGURABLE:
        help_text = opts[patch.option].help
        assert opts[patch.option].default is False
        assert "Measured" in help_text and "Written for" in help_text, help_text


def test_setup_rejects_an_unknown_role():
    from common_test_helpers import make_conf

    with pytest.raises(ValueError, match="role 'compute': expected one of service, conductor"):
        patches.setup(make_conf(), "compute")


SETUP = """
    import json, sys
    from nova_common import messaging
    messaging.init_process()
    import kombu
    from kombu.utils import objects
    from oslo_config import cfg
    from nova_common.messaging import conf as messaging_conf
    conf = cfg.ConfigOpts()
    messaging_conf.register_opts(conf)
    conf(args=sys.argv[2:], default_config_files=[])
    active = messaging.setup(conf, role=sys.argv[1])
    print(json.dumps({
        "active": active,
        "lock_free_reads": getattr(objects.cached_property.__get__, "_lock_free_reads", False),
        "class_free_autoretry": getattr(kombu.Connection.autoretry, "_class_free", False),
        "pool": conf.messaging.rpc_server_standard_pool,
    }))
"""


def _setup(role: str, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SETUP), role, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(TESTS)),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_a_service_applies_none_a_conductor_the_measured_ones_and_config_wins(tmp_path):
    assert _setup("service") == {
        "active": ["reply-timer-after-outage"],
        "lock_free_reads": False,
        "class_free_autoretry": False,
        "pool": False,
    }
    assert _setup("conductor") == {
        "active": [
            "kombu-lock-free-reads",
            "kombu-class-free-autoretry",
            "rpc-server-standard-pool",
            "reply-timer-after-outage",
        ],
        "lock_free_reads": True,
        "class_free_autoretry": True,
        "pool": True,
    }
    config = tmp_path / "nova.conf"
    config.write_text("[messaging]\nkombu_class_free_autoretry = false\nkombu_lock_free_reads = true\n")
    assert _setup("conductor", "--config-file", str(config))["active"] == [
        "kombu-lock-free-reads",
        "rpc-server-standard-pool",
        "reply-timer-after-outage",
    ]
    assert _setup("service", "--config-file", str(config))["active"] == [
        "kombu-lock-free-reads",
        "reply-timer-after-outage",
    ]


def test_a_reply_sent_through_a_broker_outage_gets_the_whole_timer_after_it():
    """The send blocks through the outage (longer than the timer), then the caller's reply
    queue is missing for a moment: upstream abandons at once and blacklists the queue; with
    the patch the reply goes out once the queue is back."""
    from nova_common import messaging

    messaging.init_process()
    import oslo_messaging
    from oslo_messaging._drivers import amqpdriver

    from nova_common.messaging.patches import reply_retry_timer

    class Message:
        orig_msg_id = msg_id = "m1"
        reply_q = "reply_q1"

        def __init__(self):
            self.sent, self.tries = [], 0
            self._obsolete_reply_queues = amqpdriver.ObsoleteReplyQueuesCache()
            driver = type("Driver", (), {"missing_destination_retry_timeout": 1.0})()
            driver._get_connection = self._connection
            self.listener = type("Listener", (), {"driver": driver})()

        def _connection(self, purpose):
            import contextlib

            @contextlib.contextmanager
            def connection():
                if self.tries == 0:
                    time.sleep(1.5)  # the broker is away: the send waits for it
                yield None

            return connection()

        def _send_reply(self, conn, reply, failure):
            self.tries += 1
            if self.tries <= 2:  # back, but the caller has not declared its queue again yet
                raise oslo_messaging.MessageUndeliverable(Exception("NO_ROUTE"), "", "reply_q1", None)
            self.sent.append(reply)

    upstream = amqpdriver.AMQPIncomingMessage.reply
    upstream = getattr(upstream, "__wrapped__", upstream)
    message = Message()
    upstream(message, reply="done")
    assert message.sent == [] and not message._obsolete_reply_queues.reply_q_valid("reply_q1", "m2")
    reply_retry_timer.install()
    message = Message()
    amqpdriver.AMQPIncomingMessage.reply(message, reply="done")
    assert message.sent == ["done"]
    assert message._obsolete_reply_queues.reply_q_valid("reply_q1", "m2")
