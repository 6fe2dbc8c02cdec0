"""Every scenario of the kit. Importing this package registers them all.

The kit runs the scenarios of the mandatory operations first
(:data:`~nova_contract_tests.scenarios.basics.BASIC`), so a later failure
caused by one of them names it.
"""

from nova_contract_tests.scenarios import (  # noqa: F401
    arguments,
    basics,
    extras,
    gating,
    hooks,
    reporting,
    transitions,
)
from nova_contract_tests.scenarios.basics import BASIC  # noqa: F401
