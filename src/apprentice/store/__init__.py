"""The store: SQLModel tables over SQLite (default) or PostgreSQL (by URL)."""

from apprentice.store.db import default_engine, engine_for, session, write
from apprentice.store.models import CallRecord, ExecutionRecord

__all__ = ["CallRecord", "ExecutionRecord", "default_engine", "engine_for", "session", "write"]
