"""The person behind a record's free text: a seeded persona, and the pronouns for a name.

The model writes bios and reviews; conditioning it on a persona drawn from the same (seed, index)
as the samplers makes the text differ record to record and agree with the sampled name, age,
occupation and city. `pronouns` keeps a bio about Maria from saying "his".
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from apprentice.fieldplan.context import _Ctx
from apprentice.fieldplan.samplers import _draw_age, _job
from apprentice.fieldplan.vocabulary import _ANGLES, _TONES


@lru_cache(maxsize=1)
def _gendered_first_names() -> tuple[frozenset[str], frozenset[str]]:
    from faker.providers.person.en_US import Provider

    female = frozenset(n.casefold() for n in Provider.first_names_female)
    male = frozenset(n.casefold() for n in Provider.first_names_male)
    return female - male, male - female


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
        "age": str(_draw_age(ctx.rng("age"), {})),
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
