# nova_common must be imported before anything imports oslo.messaging, so the
# threading backend of oslo.service is selected (see nova_common/__init__.py).
import nova_common  # noqa: F401
