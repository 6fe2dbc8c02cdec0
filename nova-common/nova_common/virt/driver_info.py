"""Builds the DriverInfo a driver reports (the base get_driver_info)."""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING

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


def describe(driver: ComputeDriver) -> objects.DriverInfo:
    """DriverInfo for ``driver`` as it is configured and connected right now."""
    return objects.DriverInfo(
        driver_name=driver.name,
        driver_version=package_version(driver.distribution),
        hypervisor_type=driver.hypervisor_type,
        hypervisor_version=driver.hypervisor_version(),
        virt_api_min="1.0",
        virt_api_max=api.VIRT_API_VERSION,
        capabilities=sorted(driver.capabilities()),
        object_versions=objects.object_manifest(),
    )
