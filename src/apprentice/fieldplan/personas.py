"""The person behind a record's free text: a seeded persona, and the pronouns for a name.

The model writes bios and reviews; conditioning it on a persona drawn from the same (seed, index)
as the samplers makes the text differ record to record and agree with the sampled name, age,
occupation and city. `pronouns` keeps a bio about Maria from saying "his".
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from apprentice.fieldplan.context import _Ctx
from apprentice.fieldplan.samplers import _job, _person_age
from apprentice.fieldplan.vocabulary import _ANGLES, _TONES
from apprentice.shapes.fields import snake_case


@lru_cache(maxsize=1)
def _gendered_first_names() -> tuple[frozenset[str], frozenset[str]]:
    from faker.providers.person.en_US import Provider

    female = frozenset(n.casefold() for n in Provider.first_names_female)
    male = frozenset(n.casefold() for n in Provider.first_names_male)
    return female - male, male - female


AGE_FIELDS = ("age", "age_years")


def person_age(record: Any) -> int | None:
    """The age a record gives its person (its `age` or `age_years`, an integer), if any."""
    if not isinstance(record, dict):
        return None
    ages = (v for k, v in record.items() if snake_case(str(k)) in AGE_FIELDS and isinstance(v, int) and not isinstance(v, bool))
    return next(ages, None)


def pronouns(first_name: str) -> tuple[str, str]:
    """Subject and object pronouns for a person's first name, from Faker's gendered name lists;
    a name in both lists or in neither gets "they"/"them". A small model otherwise writes "his"
    in one sentence of a bio about Maria and "her" in the next."""
    female, male = _gendered_first_names()
    name = first_name.strip().casefold()
    if name in female:
        return "she", "her"
    if name in male:
        return "he", "him"
    return "they", "them"


def persona(seed: int, index: int, *, locale: str = "en_US") -> dict[str, str]:
    """A seeded sketch of record `index` to condition model-written text on, so bios and reviews
    differ record to record. Its name, age, occupation and city are the ones the samplers draw for
    the same (seed, index), so the text agrees with the sampled fields."""
    ctx = _Ctx(seed, index, locale, datetime.now(UTC).date())
    rng = ctx.rng("persona")

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    return {
        "name": " ".join(ctx.person),
        "age": str(_person_age(ctx)),
        "occupation": _job(ctx),  # fit for this sketch's own age; `adult_job`/`first_job` for a record's
        "adult_job": ctx.job,
        "first_job": ctx.first_job,
        "city": ctx.place.city,
        "country": ctx.place.country,
        "hobby": ctx.hobbies[0],
        "angle": pick(_ANGLES),
        "tone": pick(_TONES),
        "sentences": str(int(rng.integers(1, 4))),
    }
