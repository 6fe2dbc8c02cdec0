"""The core's database: models, migrations and the queries the conductor runs.

Needs the ``core`` extra (SQLAlchemy 2, alembic; psycopg2 for PostgreSQL).
Nothing in the base install (objects, virt, scaffold) imports this package.
"""
