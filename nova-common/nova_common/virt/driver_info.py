"""Builds the DriverInfo a driver reports (the base get_driver_info)."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from nova_common import objects
from nova_common.virt import api

if TYPE_CHECKING:
    from nova_common.virt.api import ComputeDriver


def package_version(distribution: str | None) -> str:
    """The installed version of ``distribution``, or ``0.0.0`` from a source tree."""
    if not distribution:
        return "0.0.0"
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0.0.0"


def _lower(*versions: str) -> str:
    return min(versions, key=api.parse_version)


def served_version(driver: ComputeDriver) -> str:
    """The newest virt API version ``driver`` serves here: what the driver
    implements, what this nova-common speaks, and the compute service's own
    ``[upgrade_levels] compute`` cap, whichever is lowest."""
    versions = [driver.virt_api_max, api.VIRT_API_VERSION]
    cap = _configured_cap(driver.conf)
    if cap:
        versions.append(cap)
    return _lower(*versions)


def served_manifest(driver: ComputeDriver) -> dict[str, str]:
    """The object versions of the virt API version ``driver`` serves: what its
    DriverInfo advertises, and so the newest its compute service may send a
    caller that did not say what it reads (a core advertises its manifest only
    to hosts that advertise a newer one than its own)."""
    return dict(api.RELEASED_OBJECT_VERSIONS.get(served_version(driver)) or objects.object_manifest())


def _configured_cap(conf: Any) -> str | None:
    try:
        cap = conf.upgrade_levels.compute
    except (AttributeError, cfg.NoSuchOptError):
        return None
    if not cap or cap == "auto":  # auto is the core's setting; a service has nothing to learn it from
        return None
    api.parse_version(cap)
    return cap


def describe(driver: ComputeDriver) -> objects.DriverInfo:
    """DriverInfo for ``driver`` as it is configured and connected right now.

    The object manifest is that of the version served (an older version's
    objects are what a driver written against it reads and returns), and the
    capabilities are those of operations within that version.
    """
    version = served_version(driver)
    known = {
        op.capability for op in api.OPERATIONS.values() if op.capability and not _newer(op.added_in, version)
    }
    manifest = served_manifest(driver)
    return objects.DriverInfo(
        driver_name=driver.name,
        driver_version=package_version(driver.distribution),
        hypervisor_type=driver.hypervisor_type,
        hypervisor_version=driver.hypervisor_version(),
        virt_api_min="1.0",
        virt_api_max=version,
        capabilities=sorted(c for c in driver.capabilities() if c in known or c not in api.Capability.ALL),
        object_versions=dict(manifest),
    )


def _newer(version: str, than: str) -> bool:
    return api.parse_version(version) > api.parse_version(than)
