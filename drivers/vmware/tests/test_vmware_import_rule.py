"""The driver imports nothing from nova-common beyond the contract and the
scaffold (the rule and its own tests live in the contract kit)."""

import pathlib

import nova_driver_vmware
from nova_contract_tests.layering import forbidden_imports

PACKAGE = pathlib.Path(nova_driver_vmware.__file__).resolve().parent


def test_driver_imports_only_contract_and_scaffold():
    assert len(list(PACKAGE.rglob("*.py"))) >= 2  # the package is really scanned
    assert forbidden_imports(PACKAGE) == []
