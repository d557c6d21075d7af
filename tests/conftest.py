"""Test-wide environment: a private Prefect home and apprentice home, no network analytics.

Set before anything imports Prefect, so no test touches the user's ~/.prefect.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_ROOT = Path(tempfile.mkdtemp(prefix="apprentice-tests-"))
os.environ["PREFECT_HOME"] = str(_ROOT / "prefect")
os.environ["APPRENTICE_HOME"] = str(_ROOT / "apprentice")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("APPRENTICE_BACKENDS_FILE", None)
os.environ.pop("APPRENTICE_DATABASE_URL", None)

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
# The JSONSchemaBench subsets live beside the project (as in CI); a clone elsewhere skips what reads them.
needs_shared = pytest.mark.skipif(
    not (SHARED / "data" / "jsonschemabench").is_dir(), reason="../shared/data/jsonschemabench is not beside the project"
)
