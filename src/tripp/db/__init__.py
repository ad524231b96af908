"""Persistence adapter: SQLAlchemy 2 Core tables, engines, the unit of work, Alembic."""
