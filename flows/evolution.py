"""Deployable entry point: the evolution flow (see prefect.yaml)."""

from apprentice.orchestration.evolution import evolve_workflow

__all__ = ["evolve_workflow"]
