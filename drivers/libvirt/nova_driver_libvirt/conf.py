"""Options of the libvirt driver (group ``[libvirt]``)."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "libvirt"

libvirt_opts = [
    cfg.StrOpt(
        "connection_uri",
        default="qemu:///system",
        help="libvirt connection URI of the hypervisor this compute service drives: "
        "qemu:///system for the local QEMU/KVM, qemu+ssh://host/system for a remote one, "
        "test:///default or test:///<absolute path>.xml for libvirt's built-in test driver.",
    ),
    cfg.StrOpt(
        "domain_name_template",
        default="instance-%(uuid)s",
        help="Template of the libvirt domain name of an instance; '%(uuid)s' is the instance "
        "uuid, which the name must contain (domain names must be unique on the host).",
    ),
    cfg.IntOpt(
        "max_name_length",
        default=255,
        min=1,
        max=4096,
        help="Longest display name, flavor name and snapshot name accepted, in characters. "
        "Longer ones are refused with InvalidRequest naming the field, never truncated.",
    ),
    cfg.StrOpt(
        "virt_type",
        help="Domain type written into the domain XML (kvm, qemu, ...). Unset: 'test' on "
        "libvirt's test driver, 'kvm' elsewhere.",
    ),
    cfg.StrOpt(
        "console_log_dir",
        help="Directory (on the hypervisor host, which must be this host) where each "
        "instance's serial console is logged to <domain name>.log. Unset: no console log, "
        "and the console_output capability is not advertised.",
    ),
    cfg.IntOpt(
        "console_output_max_bytes",
        default=100 * 1024,
        min=1,
        help="Bytes of the console log tail returned by get_console_output.",
    ),
    cfg.FloatOpt(
        "shutdown_poll_interval",
        default=0.2,
        min=0.01,
        help="Seconds between state polls while waiting for a graceful guest shutdown.",
    ),
    cfg.FloatOpt(
        "reconnect_interval",
        default=1.0,
        min=0.0,
        help="Least seconds between two attempts to reopen a lost libvirt connection; "
        "calls in between raise HypervisorUnavailable at once.",
    ),
    cfg.StrOpt(
        "hypervisor_hostname",
        help="Hostname to report in host resources; default: what libvirt reports (getHostname).",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    try:
        conf.register_opts(libvirt_opts, group=GROUP)
    except cfg.DuplicateOptError:
        pass


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The options, for oslo-config-generator (namespace ``nova_driver_libvirt``)."""
    return [(GROUP, libvirt_opts)]
