"""Pins every object's fingerprint: a changed object must change its version."""

from oslo_versionedobjects import fixture

from nova_common import objects
from nova_common.virt import api

# When this test fails: bump the object's version, add a backport for the new
# field in obj_make_compatible, record the version in the object's docstring
# and, for a new virt API release, in api.RELEASED_OBJECT_VERSIONS.
EXPECTED_FINGERPRINTS = {
    "ConsoleOutput": "1.0-708fb6f05b644a2a96451e011c9b574c",
    "DriverInfo": "1.0-2c782735c7a24dce844fabf4611e4901",
    "Flavor": "1.0-68d8a91fdc3548b9ff9c8f41f5aca212",
    "HostResources": "1.0-e797c7a31fbf7ae40be1854469ee6416",
    "ImageMeta": "1.0-b8ebd4ab6c0f915256c1edfeea91204b",
    "Instance": "1.0-94a04680434cc2dd639f913d5d381ddf",
    "InstanceInfo": "1.0-cd183e62ac19a8a6c8b10cebb16b81fa",
    "InstanceInfoList": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
    "LifecycleEvent": "1.0-a1a21ccaa5b3d243401921631adf07f9",
    "NetworkInfo": "1.0-15ecf022a68ddbb8c2a6739cfc9f8f5e",
    "SnapshotInfo": "1.0-0004645cbc879f7011cdb7ff52979713",
    "VIF": "1.0-4be400af81edc54d95228c253b433b2e",
    "VolumeAttachment": "1.0-cdea393b3995b4531493c04583a426ed",
}


def test_fingerprints_are_pinned():
    checker = fixture.ObjectVersionChecker(objects.registered_classes())
    expected, actual = checker.test_hashes(EXPECTED_FINGERPRINTS)
    changed = sorted(set(expected) | set(actual))
    assert not changed, (
        "Object fingerprints changed for "
        + ", ".join(f"{name} ({expected.get(name)} -> {actual.get(name)})" for name in changed)
        + ": bump the version and add a backport (obj_make_compatible), then update EXPECTED_FINGERPRINTS."
    )


def test_current_release_manifest_matches_registry():
    assert api.RELEASED_OBJECT_VERSIONS[api.VIRT_API_VERSION] == objects.object_manifest()


def test_every_object_documents_its_versions():
    for name, classes in objects.registered_classes().items():
        doc = classes[0].__doc__ or ""
        assert f"Version {classes[0].VERSION}" in doc, (
            f"{name} docstring lacks 'Version {classes[0].VERSION}:'"
        )


def test_registry_holds_only_our_namespace():
    for classes in objects.registered_classes().values():
        assert classes[0].OBJ_PROJECT_NAMESPACE == "nova_common"
