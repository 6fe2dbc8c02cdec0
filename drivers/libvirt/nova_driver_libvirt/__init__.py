"""nova-driver-libvirt: the libvirt driver of the nova-common virt contract."""


# Imported on first use, not here: ``nova-compute-libvirt`` (``nova_driver_libvirt.cmd``)
# must start messaging before the driver's imports load oslo.messaging.


def __getattr__(name: str):
    if name == "LibvirtDriver":
        from nova_driver_libvirt.driver import LibvirtDriver

        return LibvirtDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
