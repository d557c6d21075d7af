"""The solution library: solutions that validated, kept as data (never code) and found again by
what their request looked like.

A solution is the workflow spec, the field plan, the statistics spec, the prompts and what they
measured, keyed by its request's representation (`requests.representation`). `lookup` compares a
new request with every stored one (cosine of lexical vectors) and answers by the similarity of the
nearest: nearly the same → reuse it (N is the new request's); similar → adapt it (a model edits it
as a JSON merge patch, and the edit is validated before use); loosely related → start from its
pattern; else novel. The thresholds are learned: a reuse or an adaptation that fails raises its
threshold above the similarity it failed at, one that succeeds near the threshold lowers it a
step (the same request again moves nothing), so the library reuses as much as it safely can.
The library and its thresholds live in the store.
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from apprentice.backends.booking import Purpose
from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage, ModelRequest
from apprentice.config import Tier
from apprentice.learning.requests import RequestFeatures, class_of, representation, similarity
from apprentice.learning.scoped import Scoped
from apprentice.shapes.prompts import SYSTEM
from apprentice.shapes.repair import RepairCounts, Unparseable, parse_json
from apprentice.store import read, write
from apprentice.store.models import LibrarySolution, LibraryThresholds

Model = TypeVar("Model", bound=BaseModel)


class MatchKind(StrEnum):
    reuse = "reuse"
    adapt = "adapt"
    start_from_pattern = "start_from_pattern"
    novel = "novel"


class Thresholds(BaseModel):
    """Similarities from which a stored solution is reused, adapted, or its pattern started from."""

    reuse: float = Field(0.95, ge=0, le=1)
    adapt: float = Field(0.7, ge=0, le=1)
    pattern: float = Field(0.4, ge=0, le=1)

    STEP: ClassVar[float] = 0.01
    """How far one success lowers a threshold (a failure raises it above where it failed)."""

    def kind(self, score: float) -> MatchKind:
        if score >= self.reuse:
            return MatchKind.reuse
        if score >= self.adapt:
            return MatchKind.adapt
        return MatchKind.start_from_pattern if score >= self.pattern else MatchKind.novel


class Solution(BaseModel):
    """A request's solution, once it validated, and what it measured."""

    id: str
    class_key: str
    text: str = Field("", description="the request's own words (instructions, a sentence asking for numbers)")
    representation: dict[str, float]
    spec: dict[str, Any] | None = Field(None, description="the workflow spec as JSON")
    statistics: dict[str, Any] | None = Field(None, description="the statistics spec (distributions, correlations) as JSON")
    field_plan: dict[str, Any] | None = None
    prompts: list[str] = Field(default_factory=list)
    results: dict[str, float] = Field(default_factory=dict, description="validity, realism, cost per valid record...")
    uses: int = 0
    failures: int = 0


class LibraryMatch(BaseModel):
    """What the library has for a request: the nearest solution and what to do with it."""

    kind: MatchKind
    similarity: float = 0.0
    solution: Solution | None = None
    n: int = Field(1, description="the request's N: a reused solution makes this many records, not its own")
    reason: str


class SolutionLibrary:
    """Stored solutions and the learned thresholds; with an engine, both are kept in the store."""

    def __init__(
        self, solutions: list[Solution] | None = None, thresholds: Thresholds | None = None, *, engine: Engine | None = None, enabled=True
    ):
        self.solutions = list(solutions or [])
        self.thresholds = thresholds or Thresholds()
        self.engine, self.enabled = engine, enabled
        self._lock = threading.Lock()

    @classmethod
    def disabled(cls) -> SolutionLibrary:
        """A library that finds nothing and keeps nothing: every request starts from scratch."""
        return cls(enabled=False)

    def lookup(self, features: RequestFeatures, text: str = "") -> LibraryMatch:
        """The nearest stored solution to a request and, by the learned thresholds, its use."""
        if not self.enabled:
            return LibraryMatch(kind=MatchKind.novel, n=features.n, reason="the library is off")
        wanted = representation(features, text)
        with self._lock:
            scored = [(similarity(wanted, s.representation), s) for s in self.solutions]
        if not scored:
            return LibraryMatch(kind=MatchKind.novel, n=features.n, reason="the library is empty")
        score, nearest = max(scored, key=lambda pair: pair[0])
        kind = self.thresholds.kind(score)
        reason = f"{kind.value}: nearest solution {nearest.id} ({nearest.class_key}) at similarity {score:.3f}; thresholds " + (
            f"reuse {self.thresholds.reuse:.3f}, adapt {self.thresholds.adapt:.3f}, pattern {self.thresholds.pattern:.3f}"
        )
        return LibraryMatch(
            kind=kind, similarity=score, solution=nearest if kind is not MatchKind.novel else None, n=features.n, reason=reason
        )

    def store(self, features: RequestFeatures, text: str = "", **parts: Any) -> Solution | None:
        """Keep a solution that validated (`spec`, `statistics`, `field_plan`, `prompts`, `results`);
        the same request stored again replaces its solution."""
        if not self.enabled:
            return None
        vector = representation(features, text)
        ident = hashlib.sha256(json.dumps(vector, sort_keys=True).encode()).hexdigest()[:16]
        solution = Solution(id=ident, class_key=class_of(features), text=text, representation=vector, **parts)
        with self._lock:
            self.solutions = [s for s in self.solutions if s.id != ident] + [solution]
        if self.engine is not None:
            save_solution(solution, self.engine)
        return solution

    def learn(self, match: LibraryMatch, succeeded: bool) -> None:
        """Move the threshold a reuse or an adaptation was made under: a failure raises it above
        the similarity it failed at; a success at a similarity near the threshold (within two
        steps) lowers it one step, never below the next threshold. A success far above it (the
        same request again) says nothing of where the boundary lies and moves nothing."""
        if not self.enabled or match.kind not in (MatchKind.reuse, MatchKind.adapt) or match.solution is None:
            return
        t, score = self.thresholds, match.similarity
        if match.kind is MatchKind.reuse:
            t.reuse = _moved(t.reuse, score, succeeded, floor=t.adapt + t.STEP, ceiling=1.0)
        else:
            t.adapt = _moved(t.adapt, score, succeeded, floor=t.pattern + t.STEP, ceiling=t.reuse)
        match.solution.uses += 1
        match.solution.failures += not succeeded
        if self.engine is not None:
            save_thresholds(t, self.engine)

    async def adapt(
        self, pool: BackendPool, match: LibraryMatch, request: str, part: str, model: type[Model], *, tier: Tier
    ) -> Model | None:
        """A model edits the matched solution's `part` (`spec` or `statistics`) for `request`, as a
        JSON merge patch; the result is validated as `model` before it is used (None if not)."""
        base = getattr(match.solution, part, None) if match.solution else None
        if base is None:
            return None
        prompt = (
            f"This JSON document served a similar request: {json.dumps(base)}\nThe new request: {request}\n"
            "Answer with a JSON merge patch (RFC 7396) that turns the document into the one the new request needs."
        )
        messages = [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=prompt)]
        asked = ModelRequest(
            messages=messages, json_schema={"type": "object"}, temperature=0.0, purpose=Purpose.proposal, stage="library_adapt"
        )
        call = await pool.complete(asked, tier=tier)
        try:
            return model.model_validate(merge_patch(base, parse_json(call.text, RepairCounts())))
        except (Unparseable, ValidationError, ValueError):
            return None


def _moved(threshold: float, score: float, succeeded: bool, *, floor: float, ceiling: float) -> float:
    """A threshold after a use at similarity `score` (see `SolutionLibrary.learn`)."""
    if not succeeded:
        return min(ceiling, max(threshold, score + Thresholds.STEP))
    return max(floor, threshold - Thresholds.STEP) if score - threshold <= 2 * Thresholds.STEP else threshold


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: objects merge key by key, `null` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def save_solution(solution: Solution, engine: Engine | None = None) -> None:
    def put(s: Session) -> None:
        s.merge(LibrarySolution(id=solution.id, class_key=solution.class_key, solution_json=solution.model_dump_json()))

    write(put, engine)


def save_thresholds(thresholds: Thresholds, engine: Engine | None = None) -> None:
    write(lambda s: s.merge(LibraryThresholds(name="global", **thresholds.model_dump())), engine)


def load_library(engine: Engine | None = None) -> SolutionLibrary:
    """The store's library and thresholds."""
    rows = read(lambda s: list(s.exec(select(LibrarySolution))), engine)
    kept = read(lambda s: s.get(LibraryThresholds, "global"), engine)
    thresholds = Thresholds(reuse=kept.reuse, adapt=kept.adapt, pattern=kept.pattern) if kept else Thresholds()
    return SolutionLibrary([Solution.model_validate_json(r.solution_json) for r in rows], thresholds, engine=engine)


def _store_library() -> SolutionLibrary:
    from apprentice.store import default_engine

    return load_library(default_engine())


_LIBRARY: Scoped[SolutionLibrary] = Scoped("apprentice_library", _store_library)


def current_library() -> SolutionLibrary:
    """The library of this context (`library_with`), else the store's, loaded once per process."""
    return _LIBRARY.current()


def library_with(library: SolutionLibrary) -> AbstractContextManager[SolutionLibrary]:
    """Look solutions up in `library` inside the block (a bench's strategy, a test's)."""
    return _LIBRARY.using(library)
