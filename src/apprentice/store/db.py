"""Engine from a URL (SQLite file by default, PostgreSQL by URL), and reads and writes that survive
a busy SQLite or a PostgreSQL that is restarting."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, SQLModel, create_engine
from tenacity import retry, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from apprentice.config import load_settings
from apprentice.store import models  # noqa: F401 - registers the tables

T = TypeVar("T")


_ENGINES_LOCK = threading.Lock()


def engine_for(url: str) -> Engine:
    """One engine per URL per process; tables created, and a store from an older apprentice
    brought up to date, on first use. Safe when threads (parallel batches writing their ledger)
    and processes (workers, hooks) open a new store at the same time."""
    with _ENGINES_LOCK:  # lru_cache alone lets two threads build the same engine at once
        return _engine_for(url)


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _create_schema(engine)
    return engine


@retry(
    retry=retry_if_exception(lambda e: isinstance(e, (OperationalError, DBAPIError))),
    stop=stop_after_attempt(5),
    wait=wait_random_exponential(multiplier=0.05, max=1),
    reraise=True,
)
def _create_schema(engine: Engine) -> None:
    """Create missing tables and columns; if another process creates them at the same moment
    ("already exists"), look again: the second pass finds them and has nothing to do."""
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add the columns an older store lacks, filling existing rows with the field's default;
    returns them as `table.column`.

    Store changes are additive by rule (new tables, new columns with a default or nullable), so
    `create_all` plus this is the whole migration story and no user's data is ever rewritten. A
    change that renames or drops would need real migrations (Alembic) instead.
    """
    inspector = inspect(engine)
    added = []
    for table in SQLModel.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in (c for c in table.columns if c.name not in present):
            kind = column.type.compile(dialect=engine.dialect)
            default = _default_value(column.default)
            try:
                with engine.begin() as conn:
                    conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
                    if default is not None:
                        conn.execute(text(f'UPDATE "{table.name}" SET "{column.name}" = :value'), {"value": default})
                    for index in (i for i in table.indexes if column.name in i.columns):
                        index.create(conn, checkfirst=True)
            except (OperationalError, DBAPIError):  # another process added it first
                if column.name not in {c["name"] for c in inspect(engine).get_columns(table.name)}:
                    raise
            added.append(f"{table.name}.{column.name}")
    return added


def default_engine() -> Engine:
    return engine_for(load_settings().db_url)


def _default_value(default) -> object:
    """A column's Python-side default as a value (a factory such as `utcnow` is called once)."""
    if default is None:
        return None
    return default.arg if default.is_scalar else default.arg(None) if default.is_callable else None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _is_locked(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) and "locked" in str(exc).lower()


def _is_transient(exc: BaseException) -> bool:
    """Worth trying again: SQLite busy with another writer, or a server store (PostgreSQL) that cut
    or refused the connection, as one does while it restarts. SQLAlchemy marks a cut connection
    `connection_invalidated`; a refused one is the driver's OperationalError. SQLite's other
    OperationalErrors (no such table, unable to open the file) would answer the same again."""
    if _is_locked(exc):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or (isinstance(exc, OperationalError) and not isinstance(exc.orig, sqlite3.Error))


STORE_PATIENCE_S = 30.0
"""How long a read or write waits for the store to come back: a PostgreSQL restart takes seconds."""

_patient = retry(
    retry=retry_if_exception(_is_transient),
    stop=stop_after_delay(STORE_PATIENCE_S),
    wait=wait_random_exponential(multiplier=0.05, max=2),
    reraise=True,
)


@contextmanager
def session(engine: Engine | None = None) -> Iterator[Session]:
    with Session(engine or default_engine(), expire_on_commit=False) as s:
        yield s


def write(fn: Callable[[Session], T], engine: Engine | None = None) -> T:
    """Run `fn` in a transaction, trying again while SQLite says the database is locked or the
    store's server is unreachable (for up to `STORE_PATIENCE_S`): a run's ledger and kept records
    must not be lost to a restart of PostgreSQL under it."""

    @_patient
    def attempt() -> T:
        with _writer_lock(engine or default_engine()), session(engine) as s:
            result = fn(s)
            s.commit()
            return result

    return attempt()


def read(fn: Callable[[Session], T], engine: Engine | None = None) -> T:
    """Run `fn` in a session, trying again while the store's server is unreachable (see `write`)."""

    @_patient
    def attempt() -> T:
        with session(engine) as s:
            return fn(s)

    return attempt()


_SQLITE_WRITERS: dict[str, threading.Lock] = {}


def _writer_lock(engine: Engine) -> AbstractContextManager:
    """SQLite takes one writer at a time: queue this process's writers on a lock instead of
    letting them spin in SQLite's busy handler (which sleeps in growing steps up to 100 ms)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _SQLITE_WRITERS.setdefault(str(engine.url), threading.Lock())
