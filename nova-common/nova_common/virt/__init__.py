"""The virt contract: the spec (:mod:`.api`), its errors (:mod:`.exceptions`)
and its RPC client (:mod:`.rpcapi`)."""

from nova_common.virt.api import (  # noqa: F401
    OPERATIONS,
    VIRT_API_VERSION,
    Capability,
    ComputeDriver,
    Operation,
    Transition,
)
