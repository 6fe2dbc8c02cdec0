"""``nova-compute-fake``: a compute service hosting the fake driver."""

import sys

from nova_common.scaffold import cmd


def main() -> None:
    sys.exit(cmd.run(driver="fake", prog="nova-compute-fake"))
