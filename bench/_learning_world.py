"""The simulated world `bench/learning.py` replays requests against: seven request classes, three
tiers of model servers with stated per-class pass rates, latencies and prices, and the stream.

Where the figures come from. Fast tier: the embedded SmolLM2-135M as this project measured it
(README): a pass is a record valid *and* free of realism defects at the first answer, so the
model-only realism bench gives the pass rates (user profile 0% clean of 17 valid: 0.05; product
25%; event 15%), JSONSchemaBench's single pass gives the plain ones (GitHub trivial/easy 75-100%:
city 0.9; Snowplow 75%: order 0.75), big_schemas' whole-schema run gives the deep one (6 of 9:
0.67); latencies are its records/s (user profile 0.019/s: 52 s; product 0.288/s: 3.5 s; event
0.194/s: 5.2 s; big schemas p50 8.4 s; `apprentice doctor`'s 17 tokens in 0.4 s: a city 1 s).
Company has no recorded figure: 0.6 and 4 s, assumed. Quality and premium tiers were never
measured here (no hosted model): their pass rates (0.90-0.97 and 0.98-0.99) and latencies (1.2-
2.5 s and 2.5-5 s) are assumptions. Prices per 1k tokens (in, out) are list prices of a small
hosted model ($0.05/$0.20 per 1M), a gpt-4o-mini-class ($0.15/$0.60) and a gpt-4o-class model
($2.50/$10). A failed answer is, by class, an unrealistic record (a placeholder where text
belongs: valid, refused by the realism checks) or an invalid one (nothing the schema asks for).
Design calls (a statistics spec from a sentence) are assumptions too: premium writes it right 98%
of the time (else a wrong sd, which the check against the sentence refuses), quality answers a
merge patch right 90% of the time (else one no spec validates), each at a fixed latency.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from apprentice.config import BackendConfig, Tier
from apprentice.learning.requests import class_of, features_of
from apprentice.shapes.schema import Shape, compile_shape

PRICES = {Tier.fast: (0.00005, 0.0002), Tier.quality: (0.00015, 0.0006), Tier.premium: (0.0025, 0.01)}
DESIGN_LATENCY_S = {Tier.fast: 2.0, Tier.quality: 1.5, Tier.premium: 4.0}


@dataclass(frozen=True)
class Figures:
    """One tier on one class: the chance an answer passes, the share of failures that are invalid
    (the rest are unrealistic), and seconds per answer."""

    passes: float
    invalid: float
    latency_s: float


@dataclass
class RequestClass:
    name: str
    example: dict[str, Any]
    good: dict[str, Any]
    text_field: str
    tiers: dict[Tier, Figures]
    weight: float
    source: str
    shape: Shape | None = None

    def __post_init__(self) -> None:
        self.shape = compile_shape(self.example)

    @property
    def class_key(self) -> str:
        assert self.shape is not None
        return class_of(features_of(self.shape.json_schema))


def figures(fast: tuple[float, float, float], quality: tuple[float, float], premium: tuple[float, float]) -> dict[Tier, Figures]:
    """A class's tiers: fast (pass, invalid share, s) as measured; quality and premium (pass, s) assumed, failures half invalid."""
    return {
        Tier.fast: Figures(*fast),
        Tier.quality: Figures(quality[0], 0.5, quality[1]),
        Tier.premium: Figures(premium[0], 0.5, premium[1]),
    }


INVOICE = {
    "invoice_id": "uuid",
    "issued_at": "ISO-8601",
    "status": "draft|sent|paid|void",
    "currency": "USD|EUR|GBP",
    "customer": {"name": "string", "email": "email", "address": {"street": "string", "city": "string", "postcode": "string"}},
    "lines": [
        {
            "sku": "string",
            "description": "One line about the item",
            "qty": 0,
            "unit_price": 0.0,
            "tax": {"code": "standard|zero", "rate": 0.0},
        }
    ],
    "notes": "A short note to the customer",
}
INVOICE_GOOD = {
    "invoice_id": "6f1c2a9e-4b7d-4c1a-9f3e-2d8b5a7c1e04",
    "issued_at": "2025-05-14T09:30:00Z",
    "status": "sent",
    "currency": "EUR",
    "customer": {
        "name": "Ines Duarte",
        "email": "ines.duarte@example.org",
        "address": {"street": "Rua das Flores 12", "city": "Porto", "postcode": "4050-262"},
    },
    "lines": [
        {
            "sku": "KB-104",
            "description": "Walnut keyboard tray, oiled finish.",
            "qty": 2,
            "unit_price": 48.5,
            "tax": {"code": "standard", "rate": 0.23},
        }
    ],
    "notes": "Thank you for your order; payment is due within thirty days.",
}

CLASSES = [
    RequestClass(
        "city",
        {"city": "string", "country": "string", "population": 0},
        {"city": "Porto", "country": "Portugal", "population": 231800},
        "city",
        figures((0.9, 0.5, 1.0), (0.97, 1.2), (0.99, 2.5)),
        0.2,
        "fast: JSONSchemaBench GitHub trivial/easy single pass 75-100%",
    ),
    RequestClass(
        "event",
        {"title": "string", "city": "string", "start_day": 0, "end_day": 0, "attendees": 0},
        {"title": "Harbour Jazz Night", "city": "Bergen", "start_day": 12, "end_day": 13, "attendees": 850},
        "title",
        figures((0.15, 0.0, 5.2), (0.92, 1.5), (0.98, 3.0)),
        0.1,
        "fast: realism bench, event model-only 15% clean, 20/20 valid, 0.194 records/s",
    ),
    RequestClass(
        "company",
        {
            "company": "A plausible company name",
            "tagline": "One short sentence",
            "founder_age": 0,
            "headcount": 0,
            "revenue": 0.0,
            "segment": "smb|mid|enterprise",
        },
        {
            "company": "Northwind Analytics",
            "tagline": "Forecasts that keep shelves full.",
            "founder_age": 41,
            "headcount": 120,
            "revenue": 8400000.0,
            "segment": "mid",
        },
        "tagline",
        figures((0.6, 0.5, 4.0), (0.95, 1.5), (0.99, 3.0)),
        0.2,
        "assumed (no recorded figure); asks for its numbers in a sentence",
    ),
    RequestClass(
        "product",
        {
            "sku": "string",
            "name": "string",
            "description": "One sentence about the product",
            "price": 0.0,
            "currency": "USD|EUR|GBP",
            "stock": 0,
            "warehouse": "string",
        },
        {
            "sku": "LMP-2041",
            "name": "Brass desk lamp",
            "description": "A brass desk lamp with a dimmable warm light.",
            "price": 39.5,
            "currency": "EUR",
            "stock": 12,
            "warehouse": "Rotterdam",
        },
        "description",
        figures((0.25, 0.0, 3.5), (0.93, 1.8), (0.98, 3.5)),
        0.15,
        "fast: realism bench, product model-only 25% clean, 20/20 valid, 0.288 records/s",
    ),
    RequestClass(
        "user_profile",
        {
            "name": "string",
            "email": "email",
            "age": 0,
            "country": "string",
            "plan": "free|pro|enterprise",
            "signed_up_at": "ISO-8601",
            "bio": "A two-sentence biography",
            "interests": ["string"],
        },
        {
            "name": "Maria Garcia",
            "email": "maria.garcia@example.net",
            "age": 34,
            "country": "Spain",
            "plan": "pro",
            "signed_up_at": "2024-03-05T10:15:00Z",
            "bio": "Maria restores old bicycles in Valencia. She also teaches a weekend repair class.",
            "interests": ["cycling", "woodwork"],
        },
        "bio",
        figures((0.05, 0.15, 52.0), (0.9, 2.5), (0.98, 5.0)),
        0.1,
        "fast: realism bench, user profile model-only 0 of 17 valid clean (3/20 invalid), 0.019 records/s",
    ),
    RequestClass(
        "order",
        {
            "order_id": "uuid",
            "customer": "string",
            "items": [{"sku": "string", "qty": 0, "price": 0.0}],
            "status": "new|paid|shipped",
            "placed_at": "ISO-8601",
        },
        {
            "order_id": "0b6f9c3e-8d2a-4f51-a7c4-3e9d1b2f6a80",
            "customer": "Tomasz Nowak",
            "items": [{"sku": "KB-104", "qty": 2, "price": 24.9}],
            "status": "paid",
            "placed_at": "2025-06-01T09:30:00Z",
        },
        "customer",
        figures((0.75, 1.0, 6.0), (0.95, 1.8), (0.99, 3.5)),
        0.15,
        "fast: JSONSchemaBench Snowplow single pass 75%; latency assumed",
    ),
    RequestClass(
        "invoice",
        INVOICE,
        INVOICE_GOOD,
        "notes",
        figures((0.67, 1.0, 8.4), (0.95, 2.5), (0.99, 5.0)),
        0.1,
        "fast: big_schemas whole-schema run 6 of 9 valid, p50 8.4 s",
    ),
]


@dataclass
class Request:
    """One request of the stream: a class, its N, and for some a sentence asking for numbers."""

    kind: RequestClass
    n: int
    seed: int
    sentence: str | None = None
    truth: dict[str, Any] | None = None

    @property
    def shape(self) -> Shape:
        assert self.kind.shape is not None
        return self.kind.shape


def numbers_request(params: tuple[int, int, int, tuple[int, int, int]]) -> tuple[str, dict[str, Any]]:
    """A sentence asking for company numbers, and the statistics spec it means."""
    mean, sd, mu, (smb, mid, big) = params
    sentence = (
        f"companies: founder ages normal with mean {mean} and sd {sd} between 18 and 100; headcount lognormal mu {mu} sigma 1; "
        f"segments smb {smb}%, mid {mid}%, enterprise {big}%"
    )
    truth = {
        "fields": {
            "founder_age": {"distribution": "normal", "mean": mean, "sd": sd, "minimum": 18, "maximum": 100, "decimals": 0},
            "headcount": {"distribution": "lognormal", "mu": mu, "sigma": 1.0, "minimum": 1, "decimals": 0},
            "segment": {"distribution": "categorical", "weights": {"smb": smb, "mid": mid, "enterprise": big}},
        }
    }
    return sentence, truth


def stream_of(count: int, seed: int) -> list[Request]:
    """`count` requests: classes by their weights, N from 10 to 10,000, and the company class's
    sentences drawn from 72 by a Zipf law (s = 1.1), so some recur often and most rarely."""
    rng = random.Random(seed)
    combos = [(m, s, mu, w) for m in (30, 35, 40, 45) for s in (8, 10, 12) for mu in (3, 4, 5) for w in ((60, 30, 10), (50, 30, 20))]
    rng.shuffle(combos)
    zipf = [1 / (rank + 1) ** 1.1 for rank in range(len(combos))]
    requests = []
    for i in range(count):
        kind = rng.choices(CLASSES, weights=[c.weight for c in CLASSES])[0]
        request = Request(kind=kind, n=rng.choice((10, 100, 1000, 10_000)), seed=seed * 100_003 + i)
        if kind.name == "company":
            request.sentence, request.truth = numbers_request(rng.choices(combos, weights=zipf)[0])
        requests.append(request)
    return requests


class World:
    """The simulated model servers: answers by the current request's class and the backend's
    tier, and a virtual clock that each answer advances by its latency (the pool reads it)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = 0.0
        self.current: Request | None = None

    def now(self) -> float:
        return self.clock

    def transport(self, config: BackendConfig) -> httpx.MockTransport:
        return httpx.MockTransport(lambda request: self.answer(config.tier, request))

    def answer(self, tier: Tier, request: httpx.Request) -> httpx.Response:
        assert self.current is not None
        body = json.loads(request.content)
        prompt = body["messages"][-1]["content"]
        content, seconds = self._design(tier, prompt) if self._is_design(prompt) else self._record(tier)
        self.clock += seconds * self.rng.lognormvariate(0, 0.25)
        usage = {"prompt_tokens": sum(len(m["content"]) for m in body["messages"]) // 4, "completion_tokens": len(content) // 4 + 1}
        return httpx.Response(
            200,
            json={
                "model": "sim",
                "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": usage,
            },
        )

    @staticmethod
    def _is_design(prompt: str) -> bool:
        return prompt.startswith(("Turn this request for numeric test data", "This JSON document served a similar request"))

    def _record(self, tier: Tier) -> tuple[str, float]:
        assert self.current is not None
        kind = self.current.kind
        figures = kind.tiers[tier]
        record: dict[str, Any] = dict(kind.good)
        if "order_id" in record or "invoice_id" in record:
            record[next(k for k in record if k.endswith("_id"))] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if self.rng.random() >= figures.passes:
            record = {} if self.rng.random() < figures.invalid else {**record, kind.text_field: "Lorem ipsum dolor sit amet"}
        return json.dumps(record), figures.latency_s

    def _design(self, tier: Tier, prompt: str) -> tuple[str, float]:
        """A statistics spec written (premium: right 98% of the time, else a wrong sd) or a merge
        patch for one (quality: right 90% of the time, else a patch no spec validates)."""
        assert self.current is not None and self.current.truth is not None
        truth = self.current.truth
        right = self.rng.random() < (0.98 if tier is Tier.premium else 0.9 if tier is Tier.quality else 0.5)
        if prompt.startswith("This JSON document served"):
            answer: dict[str, Any] = truth if right else {"fields": {"founder_age": {"sd": -1}}}
        else:
            answer = truth if right else _with(truth, "founder_age", "sd", truth["fields"]["founder_age"]["sd"] + 1)
        return json.dumps(answer), DESIGN_LATENCY_S[tier]


def _with(spec: dict[str, Any], name: str, key: str, value: Any) -> dict[str, Any]:
    fields = {**spec["fields"], name: {**spec["fields"][name], key: value}}
    return {**spec, "fields": fields}
