"""Every scenario of the kit. Importing this package registers them all."""

from nova_contract_tests.scenarios import (  # noqa: F401
    arguments,
    basics,
    extras,
    gating,
    reporting,
    transitions,
)
