from nova_common import messaging

# Before anything imports oslo.messaging (see nova_common.messaging.process).
messaging.init_process()
