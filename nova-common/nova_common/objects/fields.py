"""Field types shared by nova-common objects."""

import re
import uuid as _uuid

from oslo_versionedobjects import fields

# Re-exported so object modules import their field types from one place.
BooleanField = fields.BooleanField
DateTimeField = fields.DateTimeField
DictOfNullableStringsField = fields.DictOfNullableStringsField
DictOfStringsField = fields.DictOfStringsField
IntegerField = fields.IntegerField
ListOfObjectsField = fields.ListOfObjectsField
ListOfStringsField = fields.ListOfStringsField
NonNegativeIntegerField = fields.NonNegativeIntegerField
ObjectField = fields.ObjectField
StringField = fields.StringField
FlexibleBooleanField = fields.FlexibleBooleanField


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class StrictUUID(fields.UUID):
    """A UUID, refused when malformed (ovo only warns) and stored canonical."""

    @staticmethod
    def coerce(obj, attr, value):
        if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
            return value
        try:
            return str(_uuid.UUID(str(value)))
        except ValueError:
            raise ValueError(f"{value!r} is not a UUID") from None


class UUIDField(fields.AutoTypedField):
    AUTO_TYPE = StrictUUID()


class PowerState(fields.Enum):
    """What the hypervisor says an instance is doing.

    The values match Nova's power states by meaning; they travel as strings so
    a log line or a JSON report reads without a lookup table.
    """

    NOSTATE = "nostate"
    RUNNING = "running"
    PAUSED = "paused"
    SHUTDOWN = "shutdown"
    CRASHED = "crashed"
    SUSPENDED = "suspended"

    ALL = (NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED)

    def __init__(self) -> None:
        super().__init__(valid_values=PowerState.ALL)


class PowerStateField(fields.BaseEnumField):
    AUTO_TYPE = PowerState()


class LifecycleTransition(fields.Enum):
    """Lifecycle events a driver reports without being asked."""

    STARTED = "started"
    STOPPED = "stopped"
    PAUSED = "paused"
    RESUMED = "resumed"
    SUSPENDED = "suspended"
    CRASHED = "crashed"

    ALL = (STARTED, STOPPED, PAUSED, RESUMED, SUSPENDED, CRASHED)

    def __init__(self) -> None:
        super().__init__(valid_values=LifecycleTransition.ALL)


class LifecycleTransitionField(fields.BaseEnumField):
    AUTO_TYPE = LifecycleTransition()


class RebootType(fields.Enum):
    SOFT = "soft"
    HARD = "hard"

    ALL = (SOFT, HARD)

    def __init__(self) -> None:
        super().__init__(valid_values=RebootType.ALL)


class RebootTypeField(fields.BaseEnumField):
    AUTO_TYPE = RebootType()
