"""nova-common: the compute core and the contract every virt driver implements.

Driver packages may import only :mod:`nova_common.objects`, :mod:`nova_common.virt`
and :mod:`nova_common.scaffold` (a test in every driver package checks this).
"""

import warnings as _warnings
from importlib import metadata as _metadata

from oslo_service import backend as _service_backend

# oslo.messaging imports oslo.service, whose default backend is eventlet. We
# run on native threads only, so pick the threading backend before anything
# imports oslo.messaging. (eventlet stays installed as oslo.service's hard
# dependency and futurist imports it, but nothing monkey-patches or uses it.)
# futurist imports eventlet when it is installed and eventlet warns about its
# own deprecation at import; we never use it, so that warning is noise.
_warnings.filterwarnings("ignore", message="\\s*Eventlet is deprecated")

try:
    _service_backend.init_backend(_service_backend.BackendType.THREADING)
except _service_backend.exceptions.BackendAlreadySelected:  # pragma: no cover
    pass

try:
    __version__ = _metadata.version("nova-common")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
