"""nova-common: the compute core and the contract every virt driver implements.

Driver packages may import only :mod:`nova_common.objects`, :mod:`nova_common.virt`
and :mod:`nova_common.scaffold` (a test in every driver package checks this).
Importing any of nova-common changes no state outside it; a process starts
messaging explicitly (:mod:`nova_common.messaging`).
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("nova-common")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
