"""The kit's layering check, which every driver package's tests use."""

import pathlib

import pytest

from nova_contract_tests.layering import forbidden_imports


def test_rule_names_file_and_import(tmp_path):
    bad = tmp_path / "bad_driver"
    bad.mkdir()
    (bad / "mod.py").write_text(
        "from nova_common import conductor\n"
        "import nova_common.db.api\n"
        "from nova_common.compute import states\n"
        "import nova_common\n"
        "from nova_common import objects, virt\n"
        "from nova_common.virtual import x\n"
        "from . import sibling\n"
    )
    assert forbidden_imports(bad) == [
        "bad_driver/mod.py:1 imports nova_common.conductor",
        "bad_driver/mod.py:2 imports nova_common.db.api",
        "bad_driver/mod.py:3 imports nova_common.compute",
        "bad_driver/mod.py:4 imports nova_common",
        "bad_driver/mod.py:6 imports nova_common.virtual",
    ]


def test_the_reference_driver_keeps_the_rule():
    import nova_driver_fake

    package = pathlib.Path(nova_driver_fake.__file__).parent
    assert len(list(package.rglob("*.py"))) >= 2
    assert forbidden_imports(package) == []


def test_a_missing_package_is_refused_naming_it(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        forbidden_imports(tmp_path / "nope")
