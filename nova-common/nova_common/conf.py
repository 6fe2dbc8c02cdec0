"""Options for oslo-config-generator, in two namespaces.

``nova_common``: what a compute service reads (the scaffold, the virt RPC
client, ``[messaging]``); drivers' sample configs build on it.
``nova_common.core``: the conductor, scheduler and database, for the core's
own sample config.
"""

from __future__ import annotations

from nova_common.api import conf as api_conf
from nova_common.conductor import conf as core_conf
from nova_common.messaging import conf as messaging_conf
from nova_common.scaffold import conf as scaffold_conf
from nova_common.virt import rpcapi


def list_opts() -> list[tuple[str | None, list]]:
    return [
        (None, scaffold_conf.default_opts),
        ("compute", scaffold_conf.compute_opts),
        ("upgrade_levels", rpcapi.upgrade_opts),
        *messaging_conf.list_opts(),
    ]


def list_core_opts() -> list[tuple[str | None, list]]:
    # Listing them imports only oslo.config, not the core or api extra.
    return [*core_conf.list_opts(), ("api", api_conf.api_opts())]
