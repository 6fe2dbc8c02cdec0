"""kombu's Connection.autoretry, with one module-level class instead of one per call."""

import kombu

from nova_common.messaging import embedded_broker
from nova_common.messaging.patches import kombu_autoretry


def _connection() -> kombu.Connection:
    kombu_autoretry.install()
    embedded_broker.install()
    return kombu.Connection("memory://")


def test_install_is_idempotent_and_replaces_kombus():
    kombu_autoretry.install()
    kombu_autoretry.install()
    assert kombu.Connection.autoretry is kombu_autoretry.autoretry


def test_runs_on_the_given_channel_or_the_default_one():
    with _connection() as connection:
        seen = []

        def operation(value, channel=None):
            seen.append(channel)
            return value * 2

        assert connection.autoretry(operation)(21) == (42, connection.default_channel)
        other = connection.channel()
        assert connection.autoretry(operation, channel=other)(1) == (2, other)
        assert seen == [connection.default_channel, other]
        other.close()


def test_a_connection_error_reconnects_and_retries_on_the_new_channel():
    with _connection() as connection:
        error = connection.recoverable_connection_errors[0]
        first = connection.channel()
        channels, errbacks = [], []

        def flaky(channel=None):
            channels.append(channel)
            if len(channels) == 1:
                raise error("lost the broker")
            return "done"

        retry = connection.autoretry(
            flaky, channel=first, max_retries=2, errback=lambda exc, interval: errbacks.append(exc)
        )
        assert retry.__name__ == "flaky(ensured)"
        result, channel = retry()
        assert result == "done"
        assert channels[0] is first
        assert channels[1] is channel is connection.default_channel  # revived
        assert len(errbacks) == 1
