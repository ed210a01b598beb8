"""Alembic migrations of the office schema; run them with ``office.migrate.upgrade``."""
