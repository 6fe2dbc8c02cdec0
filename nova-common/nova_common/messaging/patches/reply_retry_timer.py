"""An RPC reply's missing-queue timer that starts when the broker is back.

Why this exists: oslo.messaging's ``AMQPIncomingMessage.reply`` retries a reply
whose queue is missing for ``kombu_missing_consumer_retry_timeout`` (60 s) and
then marks the queue obsolete: every later reply to it is dropped for a minute
(``ObsoleteReplyQueuesCache``). Its timer starts before the first send, and a
send during a broker outage blocks until the broker is back. So a reply that
waited out an outage longer than that timeout finds the caller's reply queue
not declared again yet, is abandoned at once, and blacklists the queue: for the
next minute the compute service dropped every reply to the conductor. Seen
here: after a 90 s broker outage, four spawns sent right after the broker came
back were answered by the compute services and never heard of, and waited out
their 300 s RPC timeout (tools/faults/test_broker_outage.py).

:func:`install` replaces ``reply`` with the same loop whose timer starts at the
first missing-queue (or missing-exchange) answer, so the caller has the whole
timeout to declare its queue again after the broker is back; a caller that is
really gone is still given up after it. Applied by
:func:`nova_common.messaging.setup` when ``[messaging] reply_timer_after_outage``
is on (see :mod:`nova_common.messaging.patches`).
"""

from __future__ import annotations

import time
from typing import Any

import oslo_messaging
from oslo_messaging._drivers import amqpdriver
from oslo_messaging._drivers import common as rpc_common
from oslo_messaging._drivers.amqp import AMQPDestinationNotFound

LOG = amqpdriver.LOG


def install() -> None:
    """Patch ``AMQPIncomingMessage.reply``. Idempotent."""
    cls = amqpdriver.AMQPIncomingMessage
    if getattr(cls.reply, "_timer_after_outage", False):
        return
    upstream = cls.reply

    def reply(self: Any, reply: Any = None, failure: Any = None) -> None:
        if not self.orig_msg_id:
            return  # no reply expected (a cast)
        if not self._obsolete_reply_queues.reply_q_valid(self.reply_q, self.msg_id):
            return
        duration = self.listener.driver.missing_destination_retry_timeout
        timer = None  # started at the first "missing" answer, not before the broker took the send
        while True:
            try:
                with self.listener.driver._get_connection(rpc_common.PURPOSE_SEND) as conn:
                    self._send_reply(conn, reply, failure)
                return
            except (oslo_messaging.MessageUndeliverable, AMQPDestinationNotFound) as error:
                if timer is None:
                    timer = rpc_common.DecayingTimer(duration=duration)
                    timer.start()
                if timer.check_return() <= 0:
                    self._obsolete_reply_queues.add(self.reply_q, self.msg_id)
                    LOG.error(
                        "The reply %(msg_id)s failed to send for %(duration)d seconds after the "
                        "broker took it (%(error)s; queue %(reply_q)s). Abandoning...",
                        {
                            "msg_id": self.msg_id,
                            "duration": duration,
                            "error": error,
                            "reply_q": self.reply_q,
                        },
                    )
                    return
                time.sleep(0.25)

    reply._timer_after_outage = True  # type: ignore[attr-defined]
    reply.__wrapped__ = upstream  # type: ignore[attr-defined]  # the upstream code, for its digest
    cls.reply = reply
