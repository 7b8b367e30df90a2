"""The relational store: SQLAlchemy models, repositories, Alembic migrations (SQLite or PostgreSQL)."""
