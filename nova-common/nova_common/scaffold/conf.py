"""Options of a compute service (the scaffold)."""

from __future__ import annotations

import socket

from oslo_config import cfg

from nova_common.virt import rpcapi

default_opts = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<current hostname>",
        help="Name of this compute host. The core addresses the service by it "
        "(RPC topic 'compute', server=<host>), so it must be unique in the cloud.",
    ),
]

compute_opts = [
    cfg.StrOpt(
        "driver",
        default="fake",
        help="Virt driver to host: an entry-point name in the 'nova.virt.drivers' "
        "namespace (fake, libvirt, vmware, ...) or a 'module:Class' path. Ignored by "
        "the per-driver console scripts (nova-compute-fake, ...).",
    ),
    cfg.FloatOpt(
        "heartbeat_interval",
        default=10.0,
        min=0.05,
        help="Seconds between heartbeats to the conductor.",
    ),
    cfg.FloatOpt(
        "resource_report_interval",
        default=60.0,
        min=0.05,
        help="Seconds between host resource reports to the conductor.",
    ),
    cfg.FloatOpt(
        "hypervisor_retry_interval",
        default=10.0,
        min=0.05,
        help="Seconds between attempts to start the driver while its hypervisor is unreachable.",
    ),
    cfg.FloatOpt(
        "registration_timeout",
        default=10.0,
        min=0.05,
        help="Seconds to wait for the core to answer a registration before trying again "
        "(with back-off, up to 30 s between tries). Heartbeats and reports start only once "
        "the core has answered.",
    ),
    cfg.StrOpt(
        "conductor_topic",
        default="conductor",
        help="RPC topic of the conductor this service registers and reports to; the same as the "
        "conductor's [conductor] topic. Queue names are per broker virtual host, so two clouds "
        "sharing one RabbitMQ vhost need different topics (or vhosts).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    for opts, group in ((default_opts, None), (compute_opts, "compute")):
        try:
            conf.register_opts(opts, group=group)
        except cfg.DuplicateOptError:
            pass
    rpcapi.register_opts(conf)  # [upgrade_levels]: the service's own caps
