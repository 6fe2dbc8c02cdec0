import uuid

import pytest
from oslo_serialization import jsonutils

from nova_common import objects
from nova_common.messaging.serializer import ObjectSerializer


def flavor(**overrides):
    values = dict(flavorid="1", name="m1.tiny", vcpus=1, memory_mb=512)
    values.update(overrides)
    return objects.Flavor(**values)


@pytest.mark.parametrize(
    "obj_name, field, value",
    [
        ("Flavor", "vcpus", "many"),
        ("Flavor", "memory_mb", -5),
        ("InstanceInfo", "power_state", "flying"),
        ("Instance", "uuid", "not-a-uuid-\x00"),
        ("VolumeAttachment", "connection_data", ["not", "a", "dict"]),
    ],
)
def test_bad_values_name_object_field_and_value(obj_name, field, value):
    cls = getattr(objects, obj_name)
    with pytest.raises(objects.ObjectFieldError) as raised:
        setattr(cls(), field, value)
    message = str(raised.value)
    assert message.startswith(f"{obj_name}.{field}: invalid value {value!r}")
    assert raised.value.field == field and raised.value.obj_name == obj_name


def test_bad_value_keeps_the_old_value():
    f = flavor()
    with pytest.raises(objects.ObjectFieldError):
        f.vcpus = "x"
    assert f.vcpus == 1


def test_defaults_are_set_at_construction():
    f = flavor()
    assert (f.root_gb, f.ephemeral_gb, f.swap_mb, f.extra_specs) == (0, 0, 0, {})


def test_unset_field_without_default_names_it():
    with pytest.raises(objects.ObjectFieldError, match=r"Flavor.name: .*not set"):
        _ = objects.Flavor().name


def test_round_trip_through_json_serializer():
    instance = objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name='vm "<&>" \u6f22',
        flavor=flavor(extra_specs={"hw:cpu_policy": "dedicated"}),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="cirros"),
    )
    serializer = ObjectSerializer()
    wire = jsonutils.loads(jsonutils.dumps(serializer.serialize_entity({}, instance)))
    assert wire["nova_object.namespace"] == "nova_common"
    back = serializer.deserialize_entity({}, wire)
    assert back == instance
    assert back.flavor.extra_specs == {"hw:cpu_policy": "dedicated"}


def test_serializer_backports_to_manifest():
    info = objects.InstanceInfo(uuid=str(uuid.uuid4()), name="x", power_state="running")
    primitive = ObjectSerializer({"InstanceInfo": "1.0"}).serialize_entity({}, info)
    assert primitive["nova_object.version"] == "1.0"
    from_context = ObjectSerializer().serialize_entity({"object_versions": {"InstanceInfo": "1.0"}}, info)
    assert from_context["nova_object.version"] == "1.0"


def test_get_returns_default_for_unset():
    assert objects.HostResources().get("uptime_seconds", 7) is None  # default None is set
    with pytest.raises(AttributeError):
        objects.HostResources().get("no_such_field")


def test_default_transport_is_the_embedded_broker():
    """oslo.messaging 18 defaults to rabbit://; ours is kombu+memory unless configured."""
    from oslo_config import cfg

    from nova_common.messaging import conf as messaging_conf
    from nova_common.messaging.transport import DEFAULT_TRANSPORT_URL, get_transport

    conf = cfg.ConfigOpts()
    messaging_conf.register_opts(conf)
    conf(args=[], default_config_files=[])
    assert conf.transport_url == DEFAULT_TRANSPORT_URL
    transport = get_transport(conf)
    try:
        assert str(transport._driver._url).startswith("kombu+memory")
    finally:
        transport.cleanup()


def test_bad_value_off_the_wire_names_object_field_and_value():
    serializer = ObjectSerializer()
    primitive = serializer.serialize_entity({}, flavor())
    primitive["nova_object.data"]["vcpus"] = "lots"
    with pytest.raises(objects.ObjectFieldError, match=r"^Flavor.vcpus: invalid value 'lots'"):
        serializer.deserialize_entity({}, primitive)


def test_fast_primitive_matches_ovo():
    from oslo_versionedobjects import base as ovo_base

    info = objects.InstanceInfo(uuid=str(uuid.uuid4()), name="x", power_state="paused", vcpus=2)
    ours = info.obj_to_primitive()
    reference = ovo_base.VersionedObject.obj_to_primitive(info)
    reference["nova_object.changes"] = sorted(reference["nova_object.changes"])
    assert ours == reference


def test_the_manifest_backport_gives_what_ovo_gives():
    """NovaObject._primitive_for is a fast path of ovo's manifest backport:
    same data, same versions, changes of dropped fields dropped too."""
    import uuid

    from oslo_versionedobjects import base as ovo_base

    from nova_common import objects
    from nova_common.virt import api

    instance = objects.Instance(
        uuid=str(uuid.uuid4()),
        display_name="web 1",
        hostname="web-1",
        flavor=objects.Flavor(flavorid="1", name="m1", vcpus=1, memory_mb=64),
        image=objects.ImageMeta(id=str(uuid.uuid4()), name="img"),
        metadata={"k": "v"},
    )
    listing = objects.InstanceInfoList(
        objects=[objects.InstanceInfo(uuid=instance.uuid, name="x", power_state="running", uptime_seconds=3)]
    )
    for obj in (instance, listing):
        for manifest in api.RELEASED_OBJECT_VERSIONS.values():
            ours = obj.obj_to_primitive(version_manifest=manifest)
            theirs = ovo_base.VersionedObject.obj_to_primitive(
                obj, target_version=manifest[obj.obj_name()], version_manifest=manifest
            )

            def normal(primitive):
                # ovo keeps a dropped field in a list item's changes; a receiver ignores
                # changes of fields it does not have, so compare the changes it would keep.
                if isinstance(primitive, dict):
                    data = primitive.get("nova_object.data", {})
                    return {
                        k: sorted(c for c in v if c in data) if k.endswith(".changes") else normal(v)
                        for k, v in primitive.items()
                    }
                if isinstance(primitive, list):
                    return [normal(v) for v in primitive]
                return primitive

            assert normal(ours) == normal(theirs)
    old = instance.obj_to_primitive(version_manifest=api.RELEASED_OBJECT_VERSIONS["1.0"])
    assert old["nova_object.version"] == "1.0" and "hostname" not in old["nova_object.data"]
    assert "hostname" not in old["nova_object.changes"]
