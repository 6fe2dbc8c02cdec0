"""The embedded broker (kombu+memory) waits for messages instead of spinning."""

import threading
import time

import oslo_messaging
import pytest
from common_test_helpers import make_conf

from nova_common.messaging import embedded_broker
from nova_common.messaging.transport import get_transport


class Echo:
    def echo(self, ctxt, value):
        return value


def _serve(transport, topic):
    server = oslo_messaging.get_rpc_server(
        transport, oslo_messaging.Target(topic=topic, server="s"), [Echo()]
    )
    server.start()
    return server


def test_idle_consumer_does_not_poll_the_queues():
    conf = make_conf("broker-idle")
    transport = get_transport(conf, "kombu+memory:////")
    server = _serve(transport, "idle-topic")
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic="idle-topic", server="s"))
    assert client.call({}, "echo", value=1) == 1  # the listener is consuming

    listener = server.listener._poll_style_listener
    broker_transport = listener.conn.connection.connection.transport
    assert isinstance(broker_transport, embedded_broker.Transport)
    polls = []
    real_get = broker_transport.cycle.get

    def counting_get(*args, **kwargs):
        polls.append(1)
        return real_get(*args, **kwargs)

    broker_transport.cycle.get = counting_get
    time.sleep(0.5)
    # oslo.messaging asks for a 50 ms poll of kombu's memory transport with no
    # sleep between empty reads: thousands of reads in half a second. Waiting
    # on puts, an idle consumer reads at most once per IDLE_WAKEUP_S.
    assert len(polls) <= 2, f"{len(polls)} reads of empty queues in 0.5 s while idle"

    assert client.call({}, "echo", value="woken by a put") == "woken by a put"
    server.stop()
    server.wait()
    transport.cleanup()


@pytest.mark.parametrize("prefetch", [0, 2])
def test_messages_sent_while_consumers_wait_are_all_delivered(prefetch):
    conf = make_conf("broker-burst")
    transport = get_transport(conf, "kombu+memory:////")
    conf.set_override("rabbit_qos_prefetch_count", prefetch, group="oslo_messaging_rabbit")
    server = _serve(transport, "burst-topic")
    assert server.listener._poll_style_listener.conn.channel.qos.prefetch_count == prefetch
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic="burst-topic", server="s"))
    results, lock = [], threading.Lock()

    def caller(n):
        for i in range(20):
            value = client.call({}, "echo", value=n * 100 + i)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(n * 100 + i for n in range(8) for i in range(20))
    server.stop()
    server.wait()
    transport.cleanup()


def test_stopping_a_server_wakes_its_idle_consumer():
    conf = make_conf("broker-stop")
    transport = get_transport(conf, "kombu+memory:////")
    server = _serve(transport, "stop-topic")
    time.sleep(0.1)  # the listener is now waiting for a put
    broker_transport = server.listener._poll_style_listener.conn.connection.connection.transport
    woken = []
    real_wake = broker_transport.wake
    broker_transport.wake = lambda: (woken.append(1), real_wake())
    server.stop()
    assert woken, "stop_consuming did not wake the consumer; stop would wait out the idle wakeup"
    server.wait()
    transport.cleanup()


def test_topic_routing_by_index_matches_kombus_and_follows_unbinds():
    import kombu

    embedded_broker.install()
    exchange = kombu.Exchange("routing-" + str(time.monotonic_ns()), type="topic")
    keys = {"exact": "compute.host-1", "other": "compute.host-2", "star": "compute.*", "hash": "compute.#"}
    with kombu.Connection("memory://") as connection:
        channel = connection.default_channel
        assert isinstance(channel, embedded_broker.Channel)
        queues = {
            name: kombu.Queue(f"{exchange.name}-{name}", exchange, routing_key=key)(channel)
            for name, key in keys.items()
        }
        for queue in queues.values():
            queue.declare()
        producer = kombu.Producer(channel, exchange)

        def routed(key):
            producer.publish({"k": key}, routing_key=key)
            got = set()
            for name, queue in queues.items():
                message = queue.get(no_ack=True)
                if message is not None:
                    got.add(name)
            return got

        assert routed("compute.host-1") == {"exact", "star", "hash"}
        assert routed("compute.host-2") == {"other", "star", "hash"}
        assert routed("compute.a.b") == {"hash"}
        assert routed("conductor") == set()
        queues["exact"].unbind_from(exchange, routing_key=keys["exact"])
        assert routed("compute.host-1") == {"star", "hash"}
        queues["exact"].bind_to(exchange, routing_key=keys["exact"])
        assert routed("compute.host-1") == {"exact", "star", "hash"}


def test_exact_topic_keys_are_not_matched_binding_by_binding(monkeypatch):
    from kombu.transport.virtual.exchange import TopicExchange

    exchange = embedded_broker.IndexedTopicExchange(None)
    table = [(f"compute.host-{i}", exchange.key_to_pattern(f"compute.host-{i}"), f"q{i}") for i in range(500)]
    matches = []
    real_match = TopicExchange._match
    monkeypatch.setattr(
        TopicExchange,
        "_match",
        lambda self, pattern, key: matches.append(pattern) or real_match(self, pattern, key),
    )
    assert exchange.lookup(table, "index-test", "compute.host-7", None) == {"q7"}
    assert matches == []  # kombu's own lookup: 500 regular expressions per publish


@pytest.mark.parametrize("prefetch", [0, 1])
def test_an_ack_wakes_the_consumer_only_when_it_can_free_a_prefetch_slot(prefetch):
    import kombu

    embedded_broker.install()
    queue_name = f"ack-{prefetch}-{time.monotonic_ns()}"
    with kombu.Connection("memory://") as connection:
        channel = connection.channel()
        channel.basic_qos(0, prefetch, False)
        queue = kombu.Queue(queue_name)(channel)
        queue.declare()
        kombu.Producer(channel).publish({"n": 1}, routing_key=queue_name)
        message = queue.get(no_ack=False)
        transport = connection.transport
        transport._ready.clear()
        message.ack()
        # With a limit of 1 the delivered message held the only slot: the
        # consumer must look again. Without a limit there is nothing to free.
        assert transport._ready.is_set() is bool(prefetch)
        channel.close()
