"""Messaging options: oslo.messaging's own, made usable on a private
ConfigOpts, and ``[messaging]``, which says which patches a process applies."""

from __future__ import annotations

import oslo_messaging
from oslo_config import cfg
from oslo_messaging import opts as oslo_messaging_opts

# oslo.messaging lists these two groups nowhere public (see register_opts).
from oslo_messaging._metrics import client as _metrics_client
from oslo_messaging._tracing import client as _tracing_client

DEFAULT_TRANSPORT_URL = "kombu+memory:////"

GROUP = "messaging"


def patch_opts() -> list[cfg.Opt]:
    """One boolean per patch (see :mod:`nova_common.messaging.patches`)."""
    from nova_common.messaging import patches

    return [
        cfg.BoolOpt(patch.option, default=False, help=patch.help_text()) for patch in patches.CONFIGURABLE
    ]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options and ``[messaging]`` on ``conf``. A
    no-op for those already there.

    oslo.messaging 18.x registers its ``[oslo_messaging_tracing]`` and
    ``[oslo_messaging_metrics]`` options only on the global ``cfg.CONF``; with
    any other ConfigOpts every call fails with NoSuchOptError. Register them,
    and every other oslo.messaging option (``transport_url`` included, so a
    config file is read before the first transport is made), here.
    """
    # Set our control exchange before copying the options, so the copies equal
    # the originals oslo.messaging registers itself later (else: DuplicateOptError).
    oslo_messaging.set_transport_defaults("nova")
    groups = list(oslo_messaging_opts.list_opts()) + [
        ("oslo_messaging_tracing", _tracing_client.oslo_messaging_tracing),
        ("oslo_messaging_metrics", _metrics_client.oslo_messaging_metrics),
        (GROUP, patch_opts()),
    ]
    for group, opts in groups:
        try:
            conf.register_opts(list(opts), group=None if group == "DEFAULT" else group)
        except cfg.DuplicateOptError:
            pass
    # oslo.messaging 18 defaults transport_url to "rabbit://" (a broker on
    # localhost). Our default is the embedded broker; a config file or
    # --transport-url chooses a real one.
    conf.set_default("transport_url", DEFAULT_TRANSPORT_URL)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """``[messaging]``, for oslo-config-generator (oslo.messaging lists its own)."""
    return [(GROUP, patch_opts())]
