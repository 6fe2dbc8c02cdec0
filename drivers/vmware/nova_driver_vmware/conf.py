"""Options of the VMware driver (group ``[vmware]``)."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "vmware"

vmware_opts = [
    cfg.HostAddressOpt("host_ip", help="vCenter server address this compute service drives."),
    cfg.PortOpt("host_port", default=443, help="vCenter server HTTPS port."),
    cfg.StrOpt("host_username", help="vCenter user name."),
    cfg.StrOpt("host_password", secret=True, help="vCenter password. Never logged."),
    cfg.StrOpt("ca_file", help="CA bundle to verify the vCenter certificate with."),
    cfg.BoolOpt(
        "insecure",
        default=False,
        help="Do not verify the vCenter certificate (vcsim's is self-signed). Ignored when ca_file is set.",
    ),
    cfg.StrOpt(
        "cluster_name", help="Cluster whose capacity this compute service offers; default: the first one."
    ),
    cfg.StrOpt(
        "datastore_regex",
        help="Regular expression a datastore name must match to hold instances; default: any.",
    ),
    cfg.StrOpt(
        "vm_folder", help="VM folder (under the datacenter's vmFolder) for instances; default: vmFolder."
    ),
    cfg.FloatOpt(
        "task_poll_interval", default=0.1, min=0.01, help="Seconds between polls of a running vSphere task."
    ),
    cfg.IntOpt(
        "api_retry_count",
        default=2,
        min=0,
        help="Times a call is retried after the session expired (NotAuthenticated) or the connection broke.",
    ),
    cfg.FloatOpt(
        "keepalive_interval",
        default=300.0,
        min=0.0,
        help="Seconds between session keep-alive calls (0: none). vCenter ends idle sessions "
        "after 30 minutes.",
    ),
    cfg.FloatOpt(
        "reconnect_interval",
        default=1.0,
        min=0.0,
        help="Least seconds between two attempts to log in again while vCenter is unreachable; "
        "calls in between raise HypervisorUnavailable at once.",
    ),
    cfg.StrOpt(
        "vm_name_template",
        default="instance-%(uuid)s",
        help="Template of an instance's VM name; '%(uuid)s' is the instance uuid. The display name "
        "is kept in the annotation and extraConfig.",
    ),
    cfg.IntOpt("max_name_length", default=255, min=1, help="Longest display or snapshot name accepted."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    try:
        conf.register_opts(vmware_opts, group=GROUP)
    except cfg.DuplicateOptError:
        pass


def describe(conf: cfg.ConfigOpts) -> str:
    """The ``[vmware]`` options as ``name=value`` for logs; secret options masked."""
    group = conf[GROUP]
    return ", ".join(
        f"{opt.dest}=***" if opt.secret else f"{opt.dest}={getattr(group, opt.dest)!r}" for opt in vmware_opts
    )


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, vmware_opts)]
