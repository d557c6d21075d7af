"""The store: SQLModel tables over SQLite (default) or PostgreSQL (by URL)."""

from apprentice.store.db import default_engine, engine_for, read, session, write
from apprentice.store.models import CachedVariant, CallRecord, ExecutionRecord, JudgeReliability, StateTransition, WorkflowState

__all__ = [
    "CachedVariant",
    "CallRecord",
    "ExecutionRecord",
    "JudgeReliability",
    "StateTransition",
    "WorkflowState",
    "default_engine",
    "engine_for",
    "read",
    "session",
    "write",
]
