"""Shapes remembered per endpoint: after a path has been answered once with a shape, later
requests to it may leave the shape out. Paths are grouped as LLMockApi's `PathNormalizer` does
(`users/42` and `users/7` are one endpoint, `users/{id}`), and only so many are kept."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

_ID = re.compile(r"^(\d+|[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$", re.IGNORECASE)


def endpoint(path: str) -> str:
    """The endpoint a path belongs to: numeric and UUID segments become `{id}`."""
    return "/".join("{id}" if _ID.match(segment) else segment for segment in path.strip("/").split("/") if segment)


class ShapeMemory:
    """The last shape each endpoint was answered with; the least recently used go first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._shapes: OrderedDict[str, Any] = OrderedDict()

    def remember(self, path: str, shape: Any) -> None:
        key = endpoint(path)
        self._shapes[key] = shape
        self._shapes.move_to_end(key)
        while len(self._shapes) > self.capacity:
            self._shapes.popitem(last=False)

    def recall(self, path: str) -> Any:
        key = endpoint(path)
        if key in self._shapes:
            self._shapes.move_to_end(key)
        return self._shapes.get(key)

    def forget(self, path: str) -> bool:
        return self._shapes.pop(endpoint(path), None) is not None

    def items(self) -> dict[str, Any]:
        return dict(self._shapes)
