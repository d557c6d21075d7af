"""Consensus / best-of-n: the same request on several backends (the spec's generate stages),
each answer scored, the best kept.

Score = 0.6 · validity + 0.25 · completeness + 0.15 · judge. The judge (the spec's first judge
stage, if any) rates every candidate in one structured call; without one, completeness stands in.
Ties (equal best scores) and disagreements (top-level fields where valid candidates differ) are
reported in `meta["consensus"]`. Over a batch (`consensus_plan`), each candidate is a step, the
candidates run at once, then the judge's step; the best is chosen in the batch's final check.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from apprentice.backends.pool import BackendPool
from apprentice.backends.types import ChatMessage
from apprentice.generation import StageMetrics, StageOutcome, ask_structured
from apprentice.patterns.common import finish, gathered, generators, side_by_side
from apprentice.records import RecordOutcome
from apprentice.shapes.prompts import SYSTEM, schema_text
from apprentice.stages import RecordState, StagePlan, Step, StepEnv
from apprentice.workflows import StageRole, StageSpec, WorkflowSpec


class JudgeScores(BaseModel):
    model_config = {"strict": True}  # numbers only: "0.8" as a string is an unusable answer

    scores: list[float]


JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"scores": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}}},
    "required": ["scores"],
}


def consensus_plan(spec: WorkflowSpec) -> StagePlan:
    """A step per candidate, at once, then the judge's step (if the spec has a judge); the best
    is chosen in the final check."""
    candidates = [Step(c.name, side_by_side(c.name, own_fields=False)) for c in generators(spec)]
    judge = next((s for s in spec.stages if s.role is StageRole.judge), None)
    return StagePlan(phases=([candidates] if candidates else []) + ([[Step(judge.name, _judge_step)]] if judge else []), close=_close)


async def _judge_step(env: StepEnv, state: RecordState) -> None:
    """The judge rates every candidate of the record in one call."""
    view = env.view(state)
    judge = next((s for s in view.spec.stages if s.role is StageRole.judge), None)
    if judge is None or view.nothing_to_write:
        return
    _, results = gathered(view, state)
    state.judged = await _judge(env.pool, judge, view.shape.json_schema, results, state.outcome)


def _close(env: StepEnv, state: RecordState) -> None:
    """Score the candidates, keep the best, report ties and disagreements."""
    view = env.view(state)
    schema, outcome, judged = view.shape.json_schema, state.outcome, state.judged
    candidates, results = gathered(view, state)
    if not candidates:
        finish(outcome, None, view.shape, view.spec, view.context)
        return
    scores = [
        round(0.6 * r.valid + 0.25 * completeness(r.value, schema) + 0.15 * (judged[i] if judged else completeness(r.value, schema)), 4)
        for i, r in enumerate(results)
    ]
    best_score = max(scores)
    tied = [c.name for c, s in zip(candidates, scores, strict=True) if s == best_score]
    best = scores.index(best_score)
    outcome.meta["consensus"] = {
        "scores": {c.name: s for c, s in zip(candidates, scores, strict=True)},
        "chosen": candidates[best].name,
        "tie": tied if len(tied) > 1 else [],
        "disagreements": disagreements([r.value for r in results if r.valid]),
        "judged": judged is not None,
    }
    if not results[best].valid:
        outcome.reason = "no candidate was valid: " + "; ".join(f"{c.name}: {r.reason}" for c, r in zip(candidates, results, strict=True))
    state.branches = {}
    finish(outcome, results[best].value, view.shape, view.spec, view.context)


def completeness(value: Any, schema: Any) -> float:
    """Share of the schema's top-level properties present with a non-empty value."""
    if not isinstance(value, dict):
        return 0.0 if value is None else 1.0
    props = list(schema.get("properties", {})) if isinstance(schema, dict) else []
    if not props:
        return 1.0
    return sum(value.get(p) not in (None, "", [], {}) for p in props) / len(props)


def disagreements(values: list[Any]) -> list[str]:
    """Top-level fields on which the given (valid) candidates do not all agree."""
    dicts = [v for v in values if isinstance(v, dict)]
    if len(dicts) < 2:
        return []
    keys = sorted(set().union(*dicts))
    return [k for k in keys if len({json.dumps(d.get(k), sort_keys=True) for d in dicts}) > 1]


async def _judge(
    pool: BackendPool, judge: StageSpec, schema: Any, results: list[StageOutcome], outcome: RecordOutcome
) -> list[float] | None:
    """Scores in [0, 1] per candidate from the judge, or None if its answer is unusable."""
    listing = "\n".join(f"{i + 1}. {json.dumps(r.value)[:1500]}" for i, r in enumerate(results))
    messages = [
        ChatMessage(role="system", content=SYSTEM),
        ChatMessage(
            role="user",
            content=(
                f"Rate how realistic and internally consistent each candidate record is for this JSON Schema, "
                f"from 0 (useless) to 1 (excellent). Schema: {schema_text(schema)}\nCandidates:\n{listing}\n"
                f'Answer as {{"scores": [one number per candidate, in order]}}.'
            ),
        ),
    ]
    answer, call = await ask_structured(
        pool, messages, JUDGE_SCHEMA, JudgeScores, purpose=None, stage=judge.name, backend=judge.backend, tier=judge.tier
    )
    if call is None:
        return None
    outcome.calls.append(call)
    outcome.stages.append(
        StageMetrics(
            stage=judge.name,
            role=judge.role.value,
            backend=call.backend,
            latency_s=call.latency_s,
            calls=1,
            attempts=call.attempts,
            input_tokens=call.input_tokens,
            output_tokens=call.output_tokens,
            cost_usd=call.cost_usd,
            valid=True,
            output_chars=len(call.text),
        )
    )
    if answer is None or len(answer.scores) != len(results):
        return None
    return [min(1.0, max(0.0, s)) for s in answer.scores]
