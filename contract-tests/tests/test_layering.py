"""The layering rule the kit ships for drivers' own test suites."""

from nova_contract_tests.layering import forbidden_imports


def test_the_rule_catches_every_way_of_importing_the_core(tmp_path):
    package = tmp_path / "bad_driver"
    package.mkdir()
    (package / "mod.py").write_text(
        "from nova_common import conductor\n"
        "import nova_common.db.api\n"
        "from nova_common.scheduler.filters import FILTERS\n"
        "from nova_common import objects, virt\n"
        "from nova_common.scaffold import cmd\n"
        "from . import sibling\n"
    )
    assert forbidden_imports(package) == [
        "bad_driver/mod.py:1 imports nova_common.conductor",
        "bad_driver/mod.py:2 imports nova_common.db.api",
        "bad_driver/mod.py:3 imports nova_common.scheduler.filters",
    ]


def test_a_name_that_only_starts_like_an_allowed_one_is_forbidden(tmp_path):
    package = tmp_path / "drv"
    package.mkdir()
    (package / "mod.py").write_text("import nova_common.virtual_things\nimport nova_commonplace\n")
    assert forbidden_imports(package) == ["drv/mod.py:1 imports nova_common.virtual_things"]
