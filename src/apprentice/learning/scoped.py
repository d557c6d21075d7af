"""A process-wide default that a block can replace for its own context: the solution library
(`library.current_library`, `library_with`) and the router (`router.current_router`,
`routing_with`) are each one. A bench's strategy or a test's fresh table is set for a block
without touching the default other runs in the process share."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Generic, TypeVar

T = TypeVar("T")


class Scoped(Generic[T]):
    """The value `using` set for this context, else the process's default, made by `make_default`
    when first wanted (under a lock: threads that ask at once get the same one)."""

    def __init__(self, name: str, make_default: Callable[[], T]) -> None:
        self._override: ContextVar[T | None] = ContextVar(name, default=None)
        self._make_default = make_default
        self._default: T | None = None
        self._lock = threading.Lock()

    def current(self) -> T:
        value = self._override.get()
        if value is not None:
            return value
        with self._lock:
            if self._default is None:
                self._default = self._make_default()
            return self._default

    @contextmanager
    def using(self, value: T) -> Iterator[T]:
        """`value` is the current one inside the block (in this context and tasks it starts)."""
        token = self._override.set(value)
        try:
            yield value
        finally:
            self._override.reset(token)
