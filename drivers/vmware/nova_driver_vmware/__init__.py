"""nova-driver-vmware: the VMware vCenter driver of the nova-common virt contract."""
