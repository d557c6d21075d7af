"""Records with given values: fields the field plan sampled or derived (or the statistics path
drew) are fixed before any model is called. The pattern runs on the rest of the shape only, its
stages told the given values (so the text agrees with them) and a per-record persona (so texts
differ record to record); the whole record is then checked against the whole shape.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from apprentice.backends.grammar import STEER_PATTERN, is_free_prose
from apprentice.backends.pool import BackendPool
from apprentice.fieldplan import HOBBY_FIELDS, is_product, person_age, persona, pronouns
from apprentice.fieldplan.vocabulary import FIRST_JOB_AGE, JOB_FIELDS, PRODUCT_CATEGORIES, PRODUCT_NAMES, RETIREMENT_AGE
from apprentice.patterns.common import finish
from apprentice.realism import identifier_name, looks_like_code
from apprentice.records import RecordContext, RecordOutcome
from apprentice.shapes.fields import snake_case
from apprentice.shapes.schema import Shape
from apprentice.stages import RecordState, RecordView, StepEnv
from apprentice.workflows import Pattern, StageRole, WorkflowSpec


def without_fields(schema: Any, given: dict[str, Any]) -> Any:
    """The object schema minus the given top-level fields: what is left for the model to write."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    props = {k: v for k, v in schema["properties"].items() if k not in given}
    return {**schema, "properties": props, "required": [k for k in schema.get("required", []) if k in props]}


PROSE_WORDS = (4, 37)
"""A prose field the model writes about a given person or product is steered to this many words
after its lead, ending a sentence. Counted in characters (20–220), the grammar ended a text
wherever the count ran out, mid-word: "…made of brushed steel and wei."."""


def subject_of(given: dict[str, Any]) -> str | None:
    """What the record's texts start with: the given product's name, or the person's first name."""
    if is_product(given):
        return next((str(v) for k, v in given.items() if snake_case(k) in PRODUCT_NAMES and isinstance(v, str) and v.strip()), None)
    return next(
        (str(given[k]).split()[0] for k in ("name", "full_name", "first_name") if isinstance(given.get(k), str) and given[k].strip()), None
    )


def regex_literal(text: str) -> str:
    """`text` as a regex that matches it, escaping only regex syntax: llama.cpp's grammar
    converter copies `re.escape`'s `\\ ` and `\\-` into the grammar, which then fails to parse
    ("Halden\\ Lite\\ Sunglasses") and the field goes unsteered."""
    return re.sub(r"[.^$*+?()\[\]{}|\\]", lambda m: "\\" + m.group(), text)


_WORD = '[^"\\\\ ]'
WORD_CHARS = 24
_WORDS = f'({_WORD}{{1,{WORD_CHARS}}} ){{{PROSE_WORDS[0] - 1},{PROSE_WORDS[1] - 1}}}{_WORD}{{0,{WORD_CHARS}}}[^"\\\\ .!?][.!?]'
"""Words (of up to `WORD_CHARS`) and single spaces, the last word whole and then a sentence's end:
the grammar never makes the model stop inside a word. A field whose `maxLength` is shorter than
the longest such text is not steered (the steering replaces the field's length bounds)."""


def about_subject(schema: Any, given: dict[str, Any], lead: str | None = None) -> Any:
    """The schema for the model's part, its prose fields (a hint that asks for a biography, a
    description…) steered, through the grammar only, to start with the `lead` (the person's
    name and job, see `person_lead`), else the given person's first name or the product's name,
    and to end a sentence: a small model otherwise opens a bio with the shape's own hint ("A
    two-sentence biography of…"), talks about someone else, or stops mid-word. Validation
    ignores the steering keyword; the whole record is checked against the user's schema."""
    who = lead or subject_of(given)
    props = schema.get("properties") if isinstance(schema, dict) else None
    if who is None or not isinstance(props, dict):
        return schema
    start = f"{regex_literal(who)}[,.;]? " if lead else f"{regex_literal(who)} "
    pattern = f"^{start}{_WORDS}$"
    longest = len(who) + 2 + PROSE_WORDS[1] * (WORD_CHARS + 1)
    steered = {
        name: {**sub, STEER_PATTERN: pattern} if is_free_prose(sub) and sub.get("maxLength", longest) >= longest else sub
        for name, sub in props.items()
    }
    return {**schema, "properties": steered}


def person_lead(given: dict[str, Any], seed: int, index: int) -> str | None:
    """The first words of a text about the record's person, its sketch's own: "Tyler Bryant is an
    aeronautical engineer". Steered to start with the first name only, SmolLM2 went on "Tyler
    Bryant is a two-sentence biography about himself" in half the bios (the shape's hint)."""
    if is_product(given):
        return None
    who = next((str(given[k]) for k in ("name", "full_name") if isinstance(given.get(k), str) and given[k].strip()), None)
    if who is None:
        return None
    job = _job_of(given, persona(seed, index))
    return f"{who} is {with_article(job)}"


def _job_of(given: dict[str, Any], traits: dict[str, str]) -> str:
    """The person's job: a given one, else the persona's, fit for the record's own age when it
    has one (the persona is drawn per attempt, its age is not the record's: an 18-year-old was
    "a higher education lecturer"), in retirement from `RETIREMENT_AGE`; Faker's "Engineer,
    aeronautical" reads "aeronautical engineer"."""
    age = person_age(given)
    given_job = next((str(v) for k, v in given.items() if snake_case(str(k)) in JOB_FIELDS and isinstance(v, str) and v.strip()), None)
    if given_job is not None:
        return _readable(given_job)
    if age is None:
        return _readable(traits["occupation"])
    if age < FIRST_JOB_AGE:
        return _readable(traits["first_job"])
    return ("retired " if age >= RETIREMENT_AGE else "") + _readable(traits["adult_job"])


def with_article(job: str) -> str:
    """ "an aeronautical engineer": the job in lower case but its acronyms ("a maintenance (IT)
    engineer", which read "(it)" in the realism bench), after "a" or "an" as it sounds ("an IT
    consultant", "an HR manager", "a university student")."""
    words = " ".join(w if _acronym(w) else w.lower() for w in job.split())
    first = words.split()[0].strip("()") if words else ""
    if _acronym(first):
        sounds_like_a_vowel = first[0] in "AEFHILMNORSX"
    else:
        sounds_like_a_vowel = first[:1] in tuple("aeiou") and not first.startswith(("uni", "use", "usu", "eu", "one"))
    return f"{'an' if sounds_like_a_vowel else 'a'} {words}"


def _acronym(word: str) -> bool:
    bare = word.strip("(),")
    return len(bare) > 1 and bare.isupper()


def _readable(job: str) -> str:
    head, _, qualifier = job.partition(", ")
    return f"{qualifier} {head}" if qualifier else job


_MACHINE_FORMATS = re.compile(r"^(\S+@\S+|https?://\S+|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-][\d:]+)?|[\d\s()+.-]{7,})$")


def told_facts(given: dict[str, Any]) -> dict[str, Any]:
    """The given values a text may draw on. Identifiers, codes, email and web addresses, phone
    numbers and timestamps are left out (a date stays: a bio must agree with a birth date). Told
    them, SmolLM2 pasted them into prose ("Willow Smart Watch Band [BQY-00094]"), and they were a
    third of the prompt. A product's text is told only its name and category (told the price,
    stock and warehouse, it wrote "at $74, with a price of 74 cents and available at Atlanta
    Fulfillment Center, 14 units")."""
    if is_product(given):
        return {k: v for k, v in given.items() if snake_case(k) in PRODUCT_NAMES | PRODUCT_CATEGORIES}
    return {
        k: v
        for k, v in given.items()
        if not identifier_name(k) and not (isinstance(v, str) and (_MACHINE_FORMATS.match(v.strip()) or looks_like_code(v.strip())))
    }


def given_hobby(given: dict[str, Any]) -> str | None:
    """The first of the record's given interests: the hobby its text mentions must be one of them
    (the persona is drawn per attempt, the interests once per record)."""
    listed = next((v for k, v in given.items() if snake_case(k) in HOBBY_FIELDS and isinstance(v, list) and v), None)
    return str(listed[0]) if listed else None


def guidance(given: dict[str, Any], seed: int, index: int, about: dict[str, Any] | None = None) -> str:
    """What a stage is told: what the record is about (its seed row), the values already set,
    and a seeded angle and tone for its text."""
    traits = persona(seed, index)
    if is_product(given):  # no person's job or hobby in its description
        return _product_guidance(given, seed, index, about)
    who = next((str(given[k]) for k in ("name", "full_name", "first_name", "username") if k in given), None)
    job = _job_of(given, traits)
    sketch = ""
    if who is not None and not about:  # small models copy the field's hint as the text; a first word to start from helps
        first = who.split()[0]
        subject, object_ = pronouns(first)  # said in passing: an instruction about pronouns gets copied into the text
        enjoys = "enjoy" if subject == "they" else "enjoys"
        sketch = (
            f"{who} is {with_article(job)}; {subject} {enjoys} "
            f"{given_hobby(given) or traits['hobby']}. "
            f'Start texts about {object_} with "{first}". '
        )
    topic = f"This record is about: {json.dumps(about, ensure_ascii=False, default=str)}. " if about else ""
    return (
        f"{topic}Facts already set for this record: {json.dumps(told_facts(given), ensure_ascii=False, default=str)}. Do not copy "
        f"them into other fields; write each remaining field's own content so that it agrees with them. {sketch}"
        f"Angle: {traits['angle']}; tone: {traits['tone']}."
    )


PRODUCT_ANGLES = (
    "what it is made of",
    "who it is for",
    "how it is used day to day",
    "what makes it last",
    "its size and weight",
    "one small design detail",
    "how to care for it",
    "what comes in the box",
)


def _product_guidance(given: dict[str, Any], seed: int, index: int, about: dict[str, Any] | None) -> str:
    """What a stage writing about a product is told: the product's set values and a seeded angle
    (a person's sketch made SmolLM2 call a desk lamp "a social worker who enjoys volunteering")."""
    angle = PRODUCT_ANGLES[(seed * 31 + index) % len(PRODUCT_ANGLES)]
    tone = persona(seed, index)["tone"]
    topic = f"This record is about: {json.dumps(about, ensure_ascii=False, default=str)}. " if about else ""
    facts = told_facts(given)
    product = f"The product: {json.dumps(facts, ensure_ascii=False, default=str)}. " if facts else ""
    return f"{topic}{product}Write each remaining field's own content about this product. Angle: {angle}; tone: {tone}."


def told(spec: WorkflowSpec, given: dict[str, Any], hint: str) -> WorkflowSpec:
    """The spec for the rest of the record: stages keep only fields still to write (a stage left
    with none is dropped), model-facing stages get the hint; rules that name a given field wait
    for the whole record, the others stay (a correction loop still corrects them)."""
    stages = []
    for stage in spec.stages:
        fields = None if stage.fields is None else [f for f in stage.fields if f not in given]
        if fields == [] and stage.role is StageRole.generate:
            continue
        prompt = f"{stage.prompt or ''}\n{hint}".strip() if stage.role is not StageRole.judge else stage.prompt
        stages.append(stage.model_copy(update={"fields": fields, "prompt": prompt}))
    routes = {tier: told(route, given, hint) for tier, route in spec.routes.items()}
    rules = [r for r in spec.rules if not {r.field.split(".")[0], (r.other or "").split(".")[0]} & given.keys()]
    return spec.model_copy(update={"stages": stages or spec.stages, "rules": rules, "routes": routes})


async def run_with_given(
    runner,
    pool: BackendPool,
    spec: WorkflowSpec,
    shape: Shape,
    given: dict[str, Any],
    *,
    index: int,
    seed: int | None,
    context: RecordContext,
    about: dict[str, Any] | None = None,
) -> RecordOutcome:
    """Run `runner` for the fields not given, told what the record is about, then merge and
    check the whole record."""
    view = given_view(spec, shape, context, given, about or {}, index=index, seed=seed)
    if view.nothing_to_write:
        outcome = RecordOutcome(index=index)
    else:
        outcome = await runner(pool, view.spec, view.shape, index=index, seed=seed, context=view.context)
    return with_given(outcome, view, shape, spec, context)


def given_view(
    spec: WorkflowSpec, shape: Shape, context: RecordContext, given: dict[str, Any], about: dict[str, Any], *, index: int, seed: int | None
) -> RecordView:
    """What the pattern works on for a record with given values: the rest of the shape, the spec
    told the given values, and a scratch copy of the batch's taken values (the pattern checks its
    rules against them; the whole record claims them)."""
    lead = None if about else person_lead(given, seed or index, index)
    rest = about_subject(without_fields(shape.json_schema, given), given, lead)
    if isinstance(rest, dict) and not rest.get("properties"):
        return RecordView(spec, shape, context, given, about, nothing_to_write=True)
    inner = dataclasses.replace(context, presets={}, unique=context.unique.copy())
    hint = guidance(given, seed or index, index, about)
    return RecordView(told(spec, given, hint), shape.model_copy(update={"json_schema": rest}), inner, given, about)


def record_view(env: StepEnv, state: RecordState) -> RecordView:
    """A batch record's view for the steps of its pattern (see `given_view`); a record without
    given values, or on the statistics path (which handles its own), sees the spec and shape."""
    given, about = env.context.given(state.index), env.context.about(state.index)
    if not (given or about) or env.spec.pattern is Pattern.statistics:
        return RecordView(env.spec, env.shape, env.context)
    return given_view(env.spec, env.shape, env.context, given, about, index=state.index, seed=state.seed)


def with_given(outcome: RecordOutcome, view: RecordView, shape: Shape, spec: WorkflowSpec, context: RecordContext) -> RecordOutcome:
    """The pattern's part merged with the given values in the shape's order, checked whole; a
    record the pattern failed (a branch, a merge) stays failed."""
    order = list(shape.json_schema.get("properties", {})) if isinstance(shape.json_schema, dict) else []
    part = outcome.record if isinstance(outcome.record, dict) else {}
    merged = {**part, **view.given}
    record = {k: merged[k] for k in order if k in merged} | {k: v for k, v in merged.items() if k not in order}
    outcome.meta["given"] = sorted(view.given)
    if outcome.reason is not None and not outcome.valid:
        outcome.record = record if outcome.record is not None else None
        return outcome
    return finish(outcome, record, shape, spec, context)
