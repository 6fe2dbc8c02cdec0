"""The compute-service scaffold every driver runs inside.

:class:`~nova_common.scaffold.service.ComputeService` hosts one driver;
:func:`~nova_common.scaffold.cmd.run` is the body of every ``nova-compute-*``
console script.
"""
