"""nova-contract-tests: the kit that proves a driver honours the virt contract.

Public API: :class:`~nova_contract_tests.config.KitConfig`,
:func:`~nova_contract_tests.runner.run_kit`, the report writers in
:mod:`~nova_contract_tests.report`, the matrix in :mod:`~nova_contract_tests.matrix`
and :func:`~nova_contract_tests.pytest_support.make_kit_test`.
"""

from nova_contract_tests.config import KitConfig  # noqa: F401
