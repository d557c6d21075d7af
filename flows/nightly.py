"""Deployable: the nightly data-generation run described by `deployments/nightly.yaml`."""

from apprentice.orchestration.nightly import nightly_generation

__all__ = ["nightly_generation"]
