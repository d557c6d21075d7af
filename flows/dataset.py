"""Deployable: generate a dataset from a shape with a workflow spec (see prefect.yaml)."""

from apprentice.orchestration.dataset import generate_dataset

__all__ = ["generate_dataset"]
