"""Context across requests (`?context=NAME`): earlier answers in a context are shown to the model
when it writes a later one, so a client's "users" and then "orders for those users" agree.

Bounded (answers per context, characters shown, live contexts) and expiring: a context unused for
`ttl_s` is forgotten, as LLMockApi's sliding expiration does."""

from __future__ import annotations

import json
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apprentice.mockapi.limits import Limits


@dataclass
class _Context:
    answers: deque[str]
    used_at: float = field(default=0.0)


class ContextMemory:
    """Named contexts of recent answers, each as compact JSON, newest last."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._contexts: OrderedDict[str, _Context] = OrderedDict()

    def add(self, name: str, path: str, answer: Any) -> None:
        context = self._live(name) or _Context(deque(maxlen=self.limits.context_answers))
        context.answers.append(json.dumps({"endpoint": path, "answer": answer}, ensure_ascii=False, default=str))
        context.used_at = self._clock()
        self._contexts[name] = context
        self._contexts.move_to_end(name)
        while len(self._contexts) > self.limits.contexts:
            self._contexts.popitem(last=False)

    def hint(self, name: str) -> str | None:
        """What the model is told of the context: its newest answers that fit the character
        budget, oldest of those first; None for an unknown or expired context."""
        context = self._live(name)
        if context is None or not context.answers:
            return None
        context.used_at = self._clock()
        shown: list[str] = []
        budget = self.limits.context_chars
        for answer in reversed(context.answers):
            if len(answer) > budget:
                break
            shown.insert(0, answer)
            budget -= len(answer)
        if not shown:
            return None
        return "Earlier answers in this session (stay consistent with them; refer to the same people, ids and names): " + "; ".join(shown)

    def names(self) -> list[str]:
        return [name for name in list(self._contexts) if self._live(name) is not None]

    def forget(self, name: str) -> bool:
        return self._contexts.pop(name, None) is not None

    def _live(self, name: str) -> _Context | None:
        context = self._contexts.get(name)
        if context is not None and self._clock() - context.used_at > self.limits.context_ttl_s:
            del self._contexts[name]
            return None
        return context
