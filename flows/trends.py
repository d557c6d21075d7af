"""Deployable entry point: the daily trend flow (see prefect.yaml)."""

from apprentice.orchestration.trends import daily_trends

__all__ = ["daily_trends"]
