"""nova-driver-fake: the in-memory reference driver of the virt contract."""


# Imported on first use, not here: ``nova-compute-fake`` (``nova_driver_fake.cmd``)
# must start messaging before the driver's imports load oslo.messaging.


def __getattr__(name: str):
    if name == "FakeDriver":
        from nova_driver_fake.driver import FakeDriver

        return FakeDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
