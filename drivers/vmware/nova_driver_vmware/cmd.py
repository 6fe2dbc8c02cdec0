"""``nova-compute-vmware``: a compute service hosting the VMware driver."""

import sys

from nova_common.scaffold import cmd


def main() -> None:
    sys.exit(cmd.run(driver="vmware", prog="nova-compute-vmware"))
