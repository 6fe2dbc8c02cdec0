"""A driver's own suite runs the kit under pytest, one test per scenario."""

from nova_contract_tests.config import KitConfig
from nova_contract_tests.pytest_support import make_kit_test

test_fake_contract = make_kit_test(KitConfig(driver="fake"))
