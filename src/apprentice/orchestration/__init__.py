"""Prefect glue: the pool each event loop shares, state hooks, artifacts and events.

Everything Prefect-specific lives here and in `flows/`; the modules it calls import no Prefect.
"""

from apprentice.orchestration.runtime import close_pools, pool_for

__all__ = ["close_pools", "pool_for"]
