"""All options of nova-common's contract parts, for oslo-config-generator."""

from __future__ import annotations

from nova_common.conductor import conf as core_conf
from nova_common.scaffold import conf as scaffold_conf
from nova_common.virt import rpcapi


def list_opts() -> list[tuple[str | None, list]]:
    return [
        (None, scaffold_conf.default_opts),
        ("compute", scaffold_conf.compute_opts),
        ("upgrade_levels", rpcapi.upgrade_opts),
        # The core's (conductor, scheduler, database); listing them imports only oslo.config.
        *core_conf.list_opts(),
    ]
