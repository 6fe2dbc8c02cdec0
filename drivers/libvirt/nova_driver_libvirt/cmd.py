"""``nova-compute-libvirt``: a compute service hosting the libvirt driver."""

import sys

from nova_common.scaffold import cmd


def main() -> None:
    sys.exit(cmd.run(driver="libvirt", prog="nova-compute-libvirt"))
