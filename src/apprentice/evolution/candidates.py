"""Which candidate versions an evolution tries: the removals its measured runs support
(self-simplification), the rule-based mutations of the live version, plus (optionally) the stage
edits a model proposes from the version's recent trouble, each new in content and numbered with
the next free minor version."""

from __future__ import annotations

import json
from typing import Any

from apprentice.backends.pool import BackendPool
from apprentice.evolution.mutations import Mutation, model_proposals, propose
from apprentice.evolution.registry import avoided_signatures, next_versions
from apprentice.learning.simplify import candidate_from, proposals_for
from apprentice.monitor.apprenticeship import load_state
from apprentice.workflows import WorkflowSpec

__all__ = ["candidates", "simplifications", "trouble"]


async def candidates(
    pool: BackendPool, live: WorkflowSpec, *, limit: int, ask_model: bool, simplify: bool = True
) -> list[tuple[Mutation, WorkflowSpec]]:
    """The removals the live version's measured runs support (with `simplify`, see
    `learning/simplify.py`), up to `limit` rule-based candidates and (with `ask_model`) up to three
    model-proposed ones, none an avoidance rule names, none a repeat of another's content or of `live`'s."""
    avoided = avoided_signatures()
    proposals = [c for c in (simplifications(live) if simplify else []) if c[0].signature not in avoided]
    seen = {s.content_hash for _, s in proposals} | {live.content_hash}
    proposals += [(m, s) for m, s in propose(live, avoided, limit=limit) if s.content_hash not in seen]
    if ask_model:
        seen = {s.content_hash for _, s in proposals} | {live.content_hash}
        for mutation, candidate in await model_proposals(pool, live, trouble(live), avoided):
            if candidate.content_hash not in seen:
                proposals.append((mutation, candidate))
                seen.add(candidate.content_hash)
    numbered = zip(proposals, next_versions(live, len(proposals)), strict=True)
    return [(mutation, spec.model_copy(update={"version": version})) for (mutation, spec), version in numbered]


def simplifications(live: WorkflowSpec) -> list[tuple[Mutation, WorkflowSpec]]:
    """A candidate per removal proposed for `live` from its runs, one per distinct content."""
    out: list[tuple[Mutation, WorkflowSpec]] = []
    for proposal in proposals_for(live.key, spec=live):
        made = candidate_from(proposal, live)
        if made is not None and made[1].content_hash not in {s.content_hash for _, s in out}:
            out.append(made)
    return out


def trouble(spec: WorkflowSpec) -> dict[str, Any]:
    """What went wrong with a version, as the model proposing edits is told: its apprenticeship
    state, last drift and five latest executions."""
    state = load_state(spec.name, spec.version)
    return {"state": state.state, "last_drift": state.last_drift_reason, "recent": json.loads(state.recent_json)[-5:]}
