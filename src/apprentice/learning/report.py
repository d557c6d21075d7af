"""What the engine has learned, for people (`apprentice routes`): per request class, the tier the
learned router takes now, what records measured there, the other tiers' record, and the
simplifications proposed for the class (`learning/simplify.proposals_for`, where it exists)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from apprentice.config import Tier
from apprentice.learning.router import Router

NONE = "—"


def route_rows(router: Router, proposals: Callable[[str], Any] | None = None) -> list[dict[str, str]]:
    """One row per class the router has outcomes for."""
    proposals = proposals or _proposals_for()
    rows = []
    for class_key in router.classes():
        seen = [t for t in Tier if router.stats(class_key, t).trials]
        chosen = router.preferred(class_key, seen)
        stats = router.stats(class_key, chosen)
        others = [f"{t.value} {router.stats(class_key, t).passes}/{router.stats(class_key, t).trials}" for t in seen if t is not chosen]
        rows.append(
            {
                "class": class_key,
                "path": chosen.value,
                "records": str(stats.trials),
                "passed": _share(stats.passes, stats.trials),
                "realism": _share(stats.realistic, stats.valid),
                "latency": f"{stats.mean(stats.latency_s):.2f} s",
                "cost": f"${stats.mean(stats.cost_usd):.6f}",
                "others": ", ".join(others) or NONE,
                "simplifications": _said(proposals(class_key)),
            }
        )
    return rows


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%} ({part}/{whole})" if whole else NONE


def _proposals_for() -> Callable[[str], Any]:
    """Self-simplification's proposals for a class, once that part is installed; else none.
    Looked up by name, so this report works before and after `simplify.py` lands."""
    try:
        module = importlib.import_module("apprentice.learning.simplify")
    except ImportError:
        return lambda _class_key: None
    return getattr(module, "proposals_for", lambda _class_key: None)


def _said(proposals: Any) -> str:
    """Proposals in words: each `Simplification` as its version and action ("wf@1.0.0: remove stage 'fix'")."""
    if not proposals:
        return NONE
    if isinstance(proposals, str):
        return proposals
    return "; ".join(_one(p) for p in proposals)


def _one(proposal: Any) -> str:
    action, key = getattr(proposal, "action", None), getattr(proposal, "key", None)
    return f"{key}: {action}" if action and key else str(action or proposal)
