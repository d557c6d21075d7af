"""A dataset run through the solution library (`apprentice generate --library`): a run without
a spec of its own takes the spec the library solved a nearly identical request with, and a run
that validated leaves its solution behind (spec, field plan, measured results) for the next."""

from __future__ import annotations

from apprentice.dataset import DatasetSummary
from apprentice.learning.library import LibraryMatch, MatchKind, Solution, SolutionLibrary, current_library
from apprentice.learning.requests import features_of
from apprentice.shapes.schema import Shape
from apprentice.workflows import WorkflowSpec, parse_spec

GOOD_REALISM = 0.9
"""The clean share of written records a run needs (every record written, too) for its solution to be kept."""


def spec_for_run(shape: Shape, n: int, fallback: WorkflowSpec, library: SolutionLibrary | None = None) -> tuple[WorkflowSpec, LibraryMatch]:
    """The stored spec when the library solved a nearly identical request (reuse; N is this run's),
    else `fallback`, with what the library said."""
    library = library or current_library()
    match = library.lookup(features_of(shape.json_schema, fallback, n=n))
    if match.kind is MatchKind.reuse and match.solution is not None and match.solution.spec is not None:
        return parse_spec(match.solution.spec, source=f"library solution {match.solution.id}"), match
    return fallback, match


def validated(summary: DatasetSummary) -> bool:
    """Every requested record written, and the written ones realistic."""
    realistic = summary.realism is None or summary.realism.clean_share >= GOOD_REALISM
    return summary.records >= summary.requested and summary.invalid == 0 and realistic


def remember_run(
    shape: Shape, n: int, spec: WorkflowSpec, summary: DatasetSummary, match: LibraryMatch, library: SolutionLibrary | None = None
) -> Solution | None:
    """Tell the library how a reuse went, and keep the run's solution once it validated."""
    library = library or current_library()
    good = validated(summary)
    library.learn(match, good)
    if not good:
        return None
    results = {
        "records": float(summary.records),
        "validity": summary.records / max(1, summary.records + summary.invalid),
        "realism": summary.realism.clean_share if summary.realism else 1.0,
        "cost_per_valid_usd": summary.cost_usd / max(1, summary.records),
    }
    field_plan = {"fields": summary.field_plan} if summary.field_plan else None
    prompts = [s.prompt for s in spec.stages if s.prompt]
    features = features_of(shape.json_schema, spec, n=n)
    return library.store(features, spec=spec.model_dump(mode="json"), field_plan=field_plan, prompts=prompts, results=results)
