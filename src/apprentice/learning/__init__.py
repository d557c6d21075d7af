"""The engine gets cheaper as it learns (issue 14): request classes, learned routing, a solution library,
self-simplification.

Design:
- **Request classes** (`requests.py`). A request (shape, spec, N, instructions) is counted into
  `RequestFeatures` on the same schema walk as complexity routing, bucketed into a readable class
  key (`flat·small·text-heavy·formats`) and turned into a sparse lexical vector. No embedding
  model: field names, formats, kinds and hint words carry what tells two requests apart, need no
  download and cost microseconds; `bench/learning.py` measures the library's hit rate with it.
  `bench/representation.py` measured it against SmolLM2-135M's llama.cpp embeddings (mean and
  last-token pooled): on statistics-spec sentences and paraphrases top-1 intent 98% vs 67%, exact
  reuse of a paraphrased sentence 100% vs 17%, and on JSONSchemaBench schemas as good a neighbour
  by `class_of` (even without its class term), at 0.05 ms against 238 ms and no 200 MB model.
- **Learned routing** (`router.py`, the store's `route_outcomes` in `outcomes.py`, people's view in
  `report.py`). The routed pattern's `routing.policy` (static, cascade, learned) is part of the
  workflow version, so evolution compares policies like any other change. The learned policy keeps
  a Beta posterior of the pass rate per (class, tier), takes the cheapest tier a Thompson draw
  predicts to pass, escalates a record that failed, and can be calibrated to a premium share.
  Outcomes are fed back at each record's close; the decision and its reason are in the record's
  `meta["routing"]`. Outcomes are kept as sums per class and tier, not per decision: the reasons
  live with the records.
- **Solution library** (`library.py`, tables `library_solutions`, `library_thresholds`).
  Solutions that validated are kept as data (workflow spec, field plan, statistics spec, prompts,
  results) under their request's representation; a lookup answers reuse, adapt (a model's JSON
  merge patch, validated before use), start from the pattern, or novel, by thresholds that move
  with how reuses and adaptations went. `propose_numeric_spec` goes through it.
  A dataset run can too (`runs.py`, `apprentice generate --library`).
- **Self-simplification** (`simplify.py`). Stage rows count what each stage did to the records it
  was given; a stage, correction prompts, later correction rounds or a committee that helped
  (almost) no record, by an exact one-sided binomial test over a minimum sample, is proposed to
  the evolution flow as a removal; costly versions are retired, recurring classes get a specialist.
"""

from apprentice.learning.library import LibraryMatch, MatchKind, Solution, SolutionLibrary, current_library, library_with
from apprentice.learning.requests import RequestFeatures, class_of, features_of, representation, similarity
from apprentice.learning.router import Observation, PathStats, Router, RoutingDecision, current_router, routing_with

__all__ = [
    "LibraryMatch",
    "MatchKind",
    "Solution",
    "SolutionLibrary",
    "current_library",
    "library_with",
    "Observation",
    "PathStats",
    "RequestFeatures",
    "Router",
    "RoutingDecision",
    "class_of",
    "current_router",
    "features_of",
    "representation",
    "routing_with",
    "similarity",
]
