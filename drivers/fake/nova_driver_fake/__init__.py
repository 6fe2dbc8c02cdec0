"""nova-driver-fake: the in-memory reference driver of the virt contract."""

from nova_driver_fake.driver import FakeDriver  # noqa: F401
