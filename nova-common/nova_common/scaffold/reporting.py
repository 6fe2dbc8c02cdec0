"""The compute service's side of the report channel, derived from the spec.

What a compute service sends to the core, and what it serves for the core
besides the virt API, are declared in :mod:`nova_common.virt.report_api`
(:class:`~nova_common.virt.report_api.ComputeReportAPI` and
:class:`~nova_common.virt.report_api.ServiceControlAPI`); this module only
binds them to a host and a topic.
"""

from __future__ import annotations

import oslo_messaging

from nova_common.virt import report_api
from nova_common.virt.report_api import REPORT_API_VERSION  # noqa: F401  (re-exported)

CONDUCTOR_TOPIC = "conductor"


def compute_report_client(
    transport: oslo_messaging.Transport, host: str, topic: str = CONDUCTOR_TOPIC
) -> report_api.MessageClient:
    """The compute-report API client of ``host`` (``client.heartbeat(sequence=3)``)."""
    target = oslo_messaging.Target(topic=topic, version=report_api.REPORT_API_VERSION)
    return report_api.MessageClient(transport, target, report_api.COMPUTE_REPORT, fixed={"host": host})


#: Serves :class:`~nova_common.virt.report_api.ServiceControlAPI` on a compute
#: service's own queue; its handler is the ComputeService.
ServiceControlEndpoint = report_api.endpoint_class(
    "ServiceControlEndpoint",
    report_api.SERVICE_CONTROL,
    report_api.REPORT_API_VERSION,
    namespace=report_api.SERVICE_CONTROL_NAMESPACE,
)
