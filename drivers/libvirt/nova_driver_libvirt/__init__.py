"""nova-driver-libvirt: the libvirt driver of the nova-common virt contract."""

from nova_driver_libvirt.driver import LibvirtDriver  # noqa: F401
