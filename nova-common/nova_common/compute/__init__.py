"""The compute core's public side: instance states, errors and the Python API.

Requires the ``core`` extra (SQLAlchemy, alembic) only through the conductor;
:mod:`nova_common.compute.api` itself needs nothing beyond the base install.
"""
