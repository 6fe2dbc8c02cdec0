"""Reads of kombu's cached properties skip kombu's class-wide lock
(see nova_common.messaging.patches.kombu_cached_property)."""

import threading

import kombu

from nova_common.messaging.patches import kombu_cached_property


def _read_in_thread(connection, name, wait_s):
    got = []
    reader = threading.Thread(target=lambda: got.append(getattr(connection, name)), daemon=True)
    reader.start()
    reader.join(wait_s)
    return got, reader


def test_cached_reads_do_not_wait_for_the_class_wide_lock():
    kombu_cached_property.install()
    kombu_cached_property.install()  # idempotent
    connection = kombu.Connection("memory://")
    errors = connection.connection_errors  # computed once, under kombu's lock
    lock = type(connection).__dict__["connection_errors"].lock
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with lock:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_lock, daemon=True)
    holder.start()
    assert holding.wait(5)
    try:
        got, _ = _read_in_thread(connection, "connection_errors", 2)
        assert got == [errors]  # read while another thread holds the lock
        # A value not cached yet is still computed under kombu's lock.
        other = kombu.Connection("memory://")
        pending, computing = _read_in_thread(other, "connection_errors", 0.3)
        assert pending == []
    finally:
        release.set()
        holder.join(5)
    computing.join(5)
    assert pending == [errors]


def test_set_and_delete_keep_working():
    kombu_cached_property.install()
    connection = kombu.Connection("memory://")
    first = connection.channel_errors
    del connection.channel_errors
    assert connection.channel_errors == first  # computed again
    connection.channel_errors = ("replaced",)
    assert connection.channel_errors == ("replaced",)
