"""The learned router's outcome table in the store (`route_outcomes`): read whole when a process
first routes, added to in the background as records close (one writer thread, many observations
per transaction, summed per class and tier), so no record waits for the store."""

from __future__ import annotations

import atexit
from collections import defaultdict

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from apprentice.config import Tier
from apprentice.learning.router import Observation, PathStats, Router
from apprentice.store import read, write
from apprentice.store.models import RouteOutcome, utcnow
from apprentice.store.writer import BatchedWriter


def load_table(engine: Engine | None = None) -> dict[tuple[str, Tier], PathStats]:
    """Every (class, tier)'s sums as the store holds them."""
    rows = read(lambda s: list(s.exec(select(RouteOutcome))), engine)
    return {
        (row.class_key, Tier(row.tier)): PathStats(
            trials=row.trials, passes=row.passes, valid=row.valid, realistic=row.realistic, latency_s=row.latency_s, cost_usd=row.cost_usd
        )
        for row in rows
        if row.tier in Tier.__members__
    }


def add_observations(observations: list[Observation], engine: Engine | None = None) -> int:
    """Add observations to their rows (created on first sight), in one transaction; returns the rows touched."""
    sums: dict[tuple[str, Tier], PathStats] = defaultdict(PathStats)
    for observation in observations:
        sums[(observation.class_key, observation.tier)].add(observation.stats())

    def add(s: Session) -> int:
        for (class_key, tier), delta in sums.items():
            row = s.get(RouteOutcome, (class_key, tier.value)) or RouteOutcome(class_key=class_key, tier=tier.value)
            for name in PathStats.model_fields:
                setattr(row, name, getattr(row, name) + getattr(delta, name))
            row.updated_at = utcnow()
            s.add(row)
        return len(sums)

    return write(add, engine) if sums else 0


class StoreSink:
    """Observations queued for the store's writer thread (`store/writer.BatchedWriter`)."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self._writer: BatchedWriter[Observation] = BatchedWriter(self._write, name="apprentice-routes", batch_size=500, linger_s=0.5)

    def __call__(self, observations: list[Observation]) -> None:
        for observation in observations:
            self._writer.put(observation)

    def flush(self) -> None:
        self._writer.flush()

    def _write(self, observations: list[Observation]) -> None:
        add_observations(observations, self.engine)


def store_router(engine: Engine | None = None) -> Router:
    """A router that starts from the store's table and writes what it learns back to it (what is
    still queued when the process ends is written then)."""
    sink = StoreSink(engine)
    atexit.register(sink.flush)
    return Router(load_table(engine), sink=sink)
