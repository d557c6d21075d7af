"""The one place Prefect state hooks hand their metrics to.

Hooks may run in another process (a worker reporting a crash), so everything goes to the store,
keyed by run id: a hook that fires twice writes one row. Recording never raises into the user's
run: a failing store is retried, then spooled to a file that the next successful write drains.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from apprentice.config import load_settings
from apprentice.store import ExecutionRecord, write

log = logging.getLogger("apprentice.monitor")


class ExecutionEvent(BaseModel):
    """What a hook saw: which run, in which state, with which records (None when it failed)."""

    run_id: str
    kind: str
    workflow: str
    version: str
    stage: str = ""
    state: str
    error_class: str | None = None


def record_executions(rows: list[ExecutionRecord], *, engine: Engine | None = None, spool: Path | None = None) -> bool:
    """Upsert execution rows. Returns False (and spools them) if the store cannot take them now."""
    spool = spool or load_settings().home / "spool" / "executions.jsonl"
    try:
        pending = _read_spool(spool) + rows

        def upsert(s) -> None:
            for row in pending:
                s.merge(ExecutionRecord.model_validate(row.model_dump()))

        write(upsert, engine)
        spool.unlink(missing_ok=True)
        return True
    except Exception as exc:  # never fail the user's run because monitoring could not write
        log.warning("apprentice could not record %d execution(s) (%s); spooled to %s", len(rows), type(exc).__name__, spool)
        try:
            spool.parent.mkdir(parents=True, exist_ok=True)
            with spool.open("a") as handle:
                for row in rows:
                    handle.write(row.model_dump_json() + "\n")
        except OSError:
            log.warning("apprentice could not spool execution records either")
        return False


def _read_spool(spool: Path) -> list[ExecutionRecord]:
    if not spool.is_file():
        return []
    rows = []
    for line in spool.read_text().splitlines():
        try:
            rows.append(ExecutionRecord.model_validate(json.loads(line)))
        except ValueError:
            continue
    return rows
