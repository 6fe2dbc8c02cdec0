"""Finds a driver class by entry-point name or ``module:Class`` path."""

from __future__ import annotations

import importlib

from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_exc

from nova_common.virt.api import ComputeDriver

DRIVER_NAMESPACE = "nova.virt.drivers"


class DriverLoadError(Exception):
    """The configured driver cannot be loaded; the message says why."""


def available_drivers() -> list[str]:
    """Entry-point names of every installed driver."""
    from importlib.metadata import entry_points

    return sorted(ep.name for ep in entry_points(group=DRIVER_NAMESPACE))


def load_driver_class(spec: str) -> type[ComputeDriver]:
    """``"fake"`` (entry point in ``nova.virt.drivers``) or ``"pkg.mod:Class"``."""
    if not spec:
        raise DriverLoadError("[compute] driver is empty: name an installed driver or a module:Class path")
    if ":" in spec:
        module_name, _, class_name = spec.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as error:
            raise DriverLoadError(f"driver {spec!r} cannot be imported: {error}") from error
    else:
        try:
            cls = stevedore_driver.DriverManager(DRIVER_NAMESPACE, spec, invoke_on_load=False).driver
        except (stevedore_exc.NoMatches, RuntimeError) as error:
            raise DriverLoadError(
                f"driver {spec!r} is not installed; installed drivers: "
                f"{', '.join(available_drivers()) or 'none'}"
            ) from error
    if not (isinstance(cls, type) and issubclass(cls, ComputeDriver)):
        raise DriverLoadError(f"driver {spec!r} is {cls!r}, not a nova_common.virt.ComputeDriver")
    return cls
