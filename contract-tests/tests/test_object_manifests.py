"""The kit's released-object snapshot and nova-common agree; a changed object fails."""

from oslo_versionedobjects import fixture

from nova_common import objects
from nova_common.virt import api
from nova_contract_tests import runner
from nova_contract_tests.object_manifests import RELEASED_FINGERPRINTS


def test_newest_release_snapshot_matches_nova_common():
    hashes = fixture.ObjectVersionChecker(objects.registered_classes()).get_hashes()
    assert RELEASED_FINGERPRINTS[api.VIRT_API_VERSION] == hashes


def test_every_released_object_checks_out():
    results = runner.object_fingerprints()
    assert results and all(r.outcome == "passed" for r in results), [r.message for r in results]


def test_an_object_changed_without_a_version_bump_fails(monkeypatch):
    from nova_contract_tests import object_manifests

    tampered = {"1.0": dict(RELEASED_FINGERPRINTS["1.0"], Flavor="1.0-00000000000000000000000000000000")}
    monkeypatch.setattr(object_manifests, "RELEASED_FINGERPRINTS", tampered)
    failed = [r for r in runner.object_fingerprints() if r.outcome == "failed"]
    assert [r.id for r in failed] == ["objects.Flavor.fingerprint-1.0"]
    assert "bump its version and add a backport [rule: released-objects-are-frozen]" in failed[0].message
