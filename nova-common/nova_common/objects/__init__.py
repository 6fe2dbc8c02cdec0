"""Versioned objects: the only things that cross the core/driver boundary.

One namespace (``nova_common``), one registry. Each object documents its
version history; ``tests/test_object_versions.py`` pins every fingerprint.
"""

from nova_common.objects.base import (  # noqa: F401
    OBJ_NAMESPACE,
    NovaObject,
    NovaObjectRegistry,
    ObjectFieldError,
    object_manifest,
    registered_classes,
)
from nova_common.objects.compute import Flavor, ImageMeta, Instance  # noqa: F401
from nova_common.objects.fields import LifecycleTransition, PowerState, RebootType  # noqa: F401
from nova_common.objects.hypervisor import (  # noqa: F401
    CoreInfo,
    DriverInfo,
    HostResources,
    InstanceInfo,
    InstanceInfoList,
)
from nova_common.objects.network import VIF, NetworkInfo  # noqa: F401
from nova_common.objects.results import (  # noqa: F401
    ConsoleOutput,
    InstanceDiagnostics,
    LifecycleEvent,
    SnapshotInfo,
)
from nova_common.objects.volume import VolumeAttachment  # noqa: F401
