"""Text normalisation the checks share: lower case and single spaces, content words, short quotations."""

from __future__ import annotations

import re

_STOP = frozenset("a an the of and or to in on for with is are was be this that it its as by at from about one".split())


def _norm(text: str) -> str:
    """Lower case, punctuation as spaces, single spaces: 'A two-sentence bio.' → 'a two sentence bio'."""
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def _content(text: str) -> list[str]:
    """Content words, lightly stemmed (a plural 's' dropped)."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _norm(text).split() if w not in _STOP]


def _clip(text: str, limit: int = 48) -> str:
    """A short quotation of `text` for a message (quote it with !r, which escapes newlines)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
