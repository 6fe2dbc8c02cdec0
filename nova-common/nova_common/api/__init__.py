"""The compute REST API: a subset of the OpenStack compute API v2.1 over the core.

:func:`nova_common.api.wsgi.make_app` builds the WSGI application on a
:class:`~nova_common.compute.api.ComputeAPI`; :mod:`nova_common.api.server`
serves it with the standard library's threading HTTP server. Needs the
``core`` extra (for the conductor's client) and ``jsonschema`` (the ``api``
extra). See ``doc/api.md``.
"""
