"""Pins every object's fingerprint: a changed object must change its version."""

from oslo_versionedobjects import fixture

from nova_common import objects
from nova_common.virt import api

# When this test fails: bump the object's version, add a backport for the new
# field in obj_make_compatible, record the version in the object's docstring
# and the new fingerprint in api.RELEASED_OBJECTS under the virt API version
# in development (never under one already released).
EXPECTED_FINGERPRINTS = api.RELEASED_OBJECTS[api.VIRT_API_VERSION]


def test_fingerprints_are_pinned():
    checker = fixture.ObjectVersionChecker(objects.registered_classes())
    expected, actual = checker.test_hashes(EXPECTED_FINGERPRINTS)
    changed = sorted(set(expected) | set(actual))
    assert not changed, (
        "Object fingerprints changed for "
        + ", ".join(f"{name} ({expected.get(name)} -> {actual.get(name)})" for name in changed)
        + ": bump the version and add a backport (obj_make_compatible), then update api.RELEASED_OBJECTS."
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
