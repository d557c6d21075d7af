"""apprentice: realistic structured data from several LLM backends, as Prefect flows.

The library is plain Python; Prefect lives in `apprentice.orchestration` and the `flows/` folder.
The public names below are imported on first use, so `import apprentice` stays cheap (the CLI
starts without loading the generation stack).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_PUBLIC = {
    "generate": "apprentice.run",
    "generate_async": "apprentice.run",
    "DatasetSummary": "apprentice.dataset",
    "RunIncomplete": "apprentice.errors",
    "ApprenticeError": "apprentice.errors",
    "load_dataset": "apprentice.formats",
}

__all__ = ["ApprenticeError", "DatasetSummary", "RunIncomplete", "__version__", "generate", "generate_async", "load_dataset"]

if TYPE_CHECKING:
    from apprentice.dataset import DatasetSummary
    from apprentice.errors import ApprenticeError, RunIncomplete
    from apprentice.formats import load_dataset
    from apprentice.run import generate, generate_async


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'apprentice' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
