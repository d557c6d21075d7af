"""The seeded draw state of one record: why the same (seed, index) makes the same record.

Every value is drawn from a named stream hashed from (seed, index, name) (`_stream`), so streams
are independent and adding a field to a shape does not change the others. `_Ctx` holds one
record's streams and what several fields share (the record's person, place, job and hobbies);
`_tag` is the per-index number that keeps identifiers unique within a dataset.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
from faker import Faker

from apprentice.fieldplan.vocabulary import _HOBBIES, FIRST_JOBS, PLACES, Place

_LOCAL = threading.local()


_UNITS_100 = tuple(k for k in range(1, 100) if math.gcd(k, 100) == 1)


def _faker(locale: str) -> Faker:
    """One Faker per locale and thread (building one costs tens of milliseconds)."""
    cache: dict[str, Faker] = _LOCAL.__dict__.setdefault("fakers", {})
    if locale not in cache:
        cache[locale] = Faker(locale)
    return cache[locale]


def _stream(seed: int, index: int, key: str) -> int:
    """A 64-bit seed for one named stream of one record: independent of every other stream, so
    adding a field to a shape does not change the values of the others."""
    digest = hashlib.blake2b(f"{seed}|{index}|{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _tag(seed: int, index: int) -> int:
    """A number that differs for every index of a dataset (a seeded permutation within each
    block of 100), used to make identifiers unique without looking sequential."""
    if index < 0:
        raise ValueError("record indices are non-negative")
    mult = _UNITS_100[_stream(seed, 0, "tag:mult") % len(_UNITS_100)]
    shift = _stream(seed, 0, "tag:shift") % 100
    block, slot = divmod(index, 100)
    return block * 100 + (mult * slot + shift) % 100


class _Ctx:
    """Draw state of one record: seeded Faker and numpy streams, and the record's person and
    place (shared by the fields that describe them). `attempt` > 0 asks for fresh draws."""

    def __init__(self, seed: int, index: int, locale: str, anchor: date) -> None:
        self.seed, self.index, self.locale, self.anchor = seed, index, locale, anchor
        self.attempt = 0
        self._memo: dict[str, Any] = {}

    def key(self, name: str) -> str:
        return f"{name}#{self.attempt}" if self.attempt else name

    def faker(self, key: str, locale: str | None = None) -> Faker:
        fake = _faker(locale or self.locale)
        fake.seed_instance(_stream(self.seed, self.index, self.key(key)))
        return fake

    def rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng(_stream(self.seed, self.index, self.key(key)))

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        full = self.key(key)
        if full not in self._memo:
            self._memo[full] = make()
        return self._memo[full]

    @property
    def person(self) -> tuple[str, str]:
        def make() -> tuple[str, str]:
            fake = self.faker("person")
            return fake.first_name(), fake.last_name()

        return self._once("person", make)

    @property
    def place(self) -> Place:
        return self._once("place", lambda: _pick_place(self.rng("place"), self.locale))

    @property
    def job(self) -> str:
        """An adult's job (Faker's list)."""
        return self._once("job", lambda: self.faker("job").job())

    @property
    def first_job(self) -> str:
        """A young adult's course of study or first job, for a person under `FIRST_JOB_AGE`."""
        return self._once("first_job", lambda: FIRST_JOBS[int(self.rng("first_job").integers(len(FIRST_JOBS)))])

    @property
    def tag(self) -> int:
        return _tag(self.seed, self.index)

    @property
    def hobbies(self) -> list[str]:
        """The record's hobbies, most telling first: the persona's texts mention the first, an
        `interests` list holds the first few, so the bio and the list agree."""
        return self._once("hobbies", lambda: [_HOBBIES[int(i)] for i in self.rng("hobbies").permutation(len(_HOBBIES))[:8]])


def _pick_place(rng: np.random.Generator, locale: str) -> Place:
    """A place; 60% of the time in the locale's own country when the table has it."""
    home = [p for p in PLACES if p.code == locale.rpartition("_")[2]]
    pool = home if home and rng.random() < 0.6 else PLACES
    return pool[int(rng.integers(len(pool)))]
