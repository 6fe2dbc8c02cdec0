"""The spec's released-object record and the registry agree; a changed object fails."""

from oslo_versionedobjects import fixture

from nova_common import objects
from nova_common.virt import api
from nova_contract_tests import runner


def test_newest_release_record_matches_the_registry():
    hashes = fixture.ObjectVersionChecker(objects.registered_classes()).get_hashes()
    assert api.RELEASED_OBJECTS[api.VIRT_API_VERSION] == hashes


def test_every_released_object_checks_out():
    results = runner.object_fingerprints()
    assert results and all(r.outcome == "passed" for r in results), [r.message for r in results]


def test_an_object_changed_without_a_version_bump_fails(monkeypatch):
    tampered = {"1.0": dict(api.RELEASED_OBJECTS["1.0"], Flavor="1.0-00000000000000000000000000000000")}
    monkeypatch.setattr(api, "RELEASED_OBJECTS", tampered)
    failed = [r for r in runner.object_fingerprints() if r.outcome == "failed"]
    assert [r.id for r in failed] == ["objects.Flavor.fingerprint-1.0"]
    assert "bump its version and add a backport [rule: released-objects-are-frozen]" in failed[0].message
