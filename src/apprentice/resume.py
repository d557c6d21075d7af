"""Record-level resume: what an incomplete batch made is kept, so its rerun makes only the rest.

A batch whose records no backend could make is not complete, so it is never cached as done
(Prefect caches completed task runs). The records it did make — valid ones, and ones rejected
for their content — are kept here under the batch's content key; the rerun of that batch takes
them as they are and asks the models only for the missing records, so nothing is made twice.
Records are kept as they are made (`dataset.RecordKeeper`), so this holds for a batch whose run
was killed too, not only for one that ended short. Within a batch, each record is also kept as
each stage leaves it (`keep_states`, under the stage's key), so the rerun of a stage cut short
makes only the records it had not reached.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from apprentice.records import RecordOutcome
from apprentice.stages import RecordState
from apprentice.store import read, write
from apprentice.store.models import KeptRecord

T = TypeVar("T", bound=BaseModel)


def _keep(key: str, items: list[RecordOutcome] | list[RecordState], engine: Engine | None) -> int:
    """Keep `items` (anything with an `index`) under `key`, replacing what was kept for them."""

    def replace(s) -> int:
        indices = [item.index for item in items]
        s.connection().execute(delete(KeptRecord).where(col(KeptRecord.batch_key) == key, col(KeptRecord.record_index).in_(indices)))
        s.add_all(KeptRecord(batch_key=key, record_index=item.index, outcome_json=item.model_dump_json()) for item in items)
        return len(items)

    return write(replace, engine) if items else 0


def _kept(key: str, model: type[T], engine: Engine | None) -> dict[int, T]:
    rows = read(lambda s: s.exec(select(KeptRecord).where(KeptRecord.batch_key == key)).all(), engine)
    return {r.record_index: model.model_validate_json(r.outcome_json) for r in rows}


def keep(batch_key: str, outcomes: list[RecordOutcome], engine: Engine | None = None) -> int:
    """Keep `outcomes` for `batch_key`, replacing what was kept for those records before."""
    return _keep(batch_key, outcomes, engine)


def kept(batch_key: str, engine: Engine | None = None) -> dict[int, RecordOutcome]:
    """What earlier runs of this batch made, by record index."""
    return _kept(batch_key, RecordOutcome, engine)


def forget(batch_key: str, engine: Engine | None = None) -> None:
    """The batch is complete (and cached by its task): its kept records are no longer needed."""
    write(lambda s: s.connection().execute(delete(KeptRecord).where(col(KeptRecord.batch_key) == batch_key)), engine)


def keep_states(step_key: str, states: list[RecordState], engine: Engine | None = None) -> int:
    """Keep records as a stage left them, under the stage's key (`BatchStates.step_key`): a stage
    cut short by a kill is taken up by its rerun where it stopped, record by record."""
    return _keep(step_key, states, engine)


def kept_states(step_key: str, engine: Engine | None = None) -> dict[int, RecordState]:
    """The records an earlier run of this stage finished, by record index."""
    return _kept(step_key, RecordState, engine)
