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

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from apprentice.records import RecordOutcome
from apprentice.stages import RecordState
from apprentice.store import read, write
from apprentice.store.models import KeptRecord


def keep(batch_key: str, outcomes: list[RecordOutcome], engine: Engine | None = None) -> int:
    """Keep `outcomes` for `batch_key`, replacing what was kept for those records before."""

    def replace(s) -> int:
        indices = [o.index for o in outcomes]
        s.connection().execute(delete(KeptRecord).where(col(KeptRecord.batch_key) == batch_key, col(KeptRecord.record_index).in_(indices)))
        s.add_all(KeptRecord(batch_key=batch_key, record_index=o.index, outcome_json=o.model_dump_json()) for o in outcomes)
        return len(outcomes)

    return write(replace, engine) if outcomes else 0


def kept(batch_key: str, engine: Engine | None = None) -> dict[int, RecordOutcome]:
    """What earlier runs of this batch made, by record index."""
    rows = read(lambda s: s.exec(select(KeptRecord).where(KeptRecord.batch_key == batch_key)).all(), engine)
    return {r.record_index: RecordOutcome.model_validate_json(r.outcome_json) for r in rows}


def forget(batch_key: str, engine: Engine | None = None) -> None:
    """The batch is complete (and cached by its task): its kept records are no longer needed."""
    write(lambda s: s.connection().execute(delete(KeptRecord).where(col(KeptRecord.batch_key) == batch_key)), engine)


def keep_states(step_key: str, states: list[RecordState], engine: Engine | None = None) -> int:
    """Keep records as a stage left them, under the stage's key (`BatchStates.step_key`): a stage
    cut short by a kill is taken up by its rerun where it stopped, record by record."""

    def replace(s) -> int:
        indices = [r.index for r in states]
        s.connection().execute(delete(KeptRecord).where(col(KeptRecord.batch_key) == step_key, col(KeptRecord.record_index).in_(indices)))
        s.add_all(KeptRecord(batch_key=step_key, record_index=r.index, outcome_json=r.model_dump_json()) for r in states)
        return len(states)

    return write(replace, engine) if states else 0


def kept_states(step_key: str, engine: Engine | None = None) -> dict[int, RecordState]:
    """The records an earlier run of this stage finished, by record index."""
    rows = read(lambda s: s.exec(select(KeptRecord).where(KeptRecord.batch_key == step_key)).all(), engine)
    return {r.record_index: RecordState.model_validate_json(r.outcome_json) for r in rows}
