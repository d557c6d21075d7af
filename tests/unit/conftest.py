"""Fixtures shared by the unit tests' modules."""

from __future__ import annotations

import pytest

from tests.unit.mockapi_fakes import Served


@pytest.fixture
async def served(tmp_path):
    """The mock API server on fake models (a `Served`), closed after the test."""
    s = Served(tmp_path)
    yield s
    await s.close()
