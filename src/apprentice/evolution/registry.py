"""The version registry: immutable workflow versions with lineage, status and traffic split.

A version is registered once (its spec is frozen as JSON with its content hash); later changes
only move its status and traffic. Traffic of a workflow's live and canary versions sums to 1.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from apprentice.errors import ConfigError
from apprentice.evolution.mutations import Mutation
from apprentice.store import session, write
from apprentice.store.models import AvoidanceRule, VersionRecord
from apprentice.workflows import WorkflowSpec


class VersionStatus(StrEnum):
    """Where a registered version stands; live and canary versions take traffic."""

    candidate = "candidate"
    canary = "canary"
    live = "live"
    retired = "retired"
    rejected = "rejected"
    rolled_back = "rolled_back"


def bump(version: str, part: str = "minor") -> str:
    """Next semantic version: `minor` for a mutation, `patch` for a profile-only change."""
    try:
        major, minor, patch = (int(x) for x in version.split("."))
    except ValueError:
        raise ConfigError(f"version '{version}' is not MAJOR.MINOR.PATCH") from None
    return {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0", "patch": f"{major}.{minor}.{patch + 1}"}[part]


def register(
    spec: WorkflowSpec,
    *,
    parent: str | None = None,
    mutation: Mutation | None = None,
    status: VersionStatus = VersionStatus.candidate,
    traffic: float = 0.0,
    engine: Engine | None = None,
) -> VersionRecord:
    """Record a version (idempotent for the same key and content; a different spec under an
    existing key is refused: versions are immutable)."""
    with session(engine) as s:
        existing = s.get(VersionRecord, spec.key)
    if existing is not None:
        if existing.content_hash != spec.content_hash:
            raise ConfigError(f"{spec.key} is already registered with different content; bump the version")
        return existing
    row = VersionRecord(
        key=spec.key,
        workflow=spec.name,
        version=spec.version,
        spec_json=spec.model_dump_json(),
        content_hash=spec.content_hash,
        parent=parent,
        mutation=mutation.signature if mutation else None,
        reason=mutation.reason if mutation else "",
        status=VersionStatus(status).value,
        traffic=traffic,
    )
    write(lambda s: s.add(row), engine)
    return row


def versions(workflow: str, engine: Engine | None = None) -> list[VersionRecord]:
    with session(engine) as s:
        return list(s.exec(select(VersionRecord).where(VersionRecord.workflow == workflow).order_by(col(VersionRecord.at))).all())


def live(workflow: str, engine: Engine | None = None) -> VersionRecord | None:
    return next((v for v in versions(workflow, engine) if v.status == VersionStatus.live), None)


def next_versions(spec: WorkflowSpec, count: int) -> list[str]:
    """`count` minor versions after `spec`'s that its workflow has not registered yet."""
    taken = {v.version for v in versions(spec.name)} | {spec.version}
    out: list[str] = []
    current = spec.version
    while len(out) < count:
        current = bump(current)
        if current not in taken:
            out.append(current)
    return out


def serving(spec: WorkflowSpec, run_key: str, engine: Engine | None = None) -> WorkflowSpec:
    """The version that serves a run of `spec`'s workflow: when the registry routes traffic for
    it (after an evolution), the live version, or a canary by its traffic share, chosen
    deterministically by `run_key` so a rerun of the same run is served the same version.
    A spec whose version is not registered is a version written by hand and serves as given."""
    rows = versions(spec.name, engine)
    if not any(v.key == spec.key for v in rows):
        return spec
    routed = sorted((v for v in rows if v.traffic > 0), key=lambda v: v.key)
    if not routed:
        return spec
    digest = hashlib.sha256(f"{spec.name}:{run_key}".encode()).digest()
    point, total = int.from_bytes(digest[:8], "big") / 2**64, 0.0
    for row in routed:
        total += row.traffic
        if point < total:
            return WorkflowSpec.model_validate_json(row.spec_json)
    return WorkflowSpec.model_validate_json(routed[-1].spec_json)


def set_split(workflow: str, split: dict[str, float], statuses: dict[str, VersionStatus], engine: Engine | None = None) -> None:
    """Set traffic shares (must sum to 1) and statuses of a workflow's versions in one transaction."""
    if abs(sum(split.values()) - 1.0) > 1e-9:
        raise ValueError(f"traffic split must sum to 1, got {split}")

    def apply(s) -> None:
        for row in s.exec(select(VersionRecord).where(VersionRecord.workflow == workflow)).all():
            row.traffic = split.get(row.key, 0.0)
            row.status = VersionStatus(statuses.get(row.key, row.status)).value
            s.add(row)

    write(apply, engine)


def add_avoidance(mutation: Mutation | str, reason: str, source: str, engine: Engine | None = None) -> None:
    """Remember a failed mutation (a `Mutation`, or the signature a version was registered with)."""
    signature = mutation if isinstance(mutation, str) else mutation.signature
    operator, context, change = (signature.split(":", 2) + ["", ""])[:3]
    rule = AvoidanceRule(signature=signature, operator=operator, context=context, change=change, reason=reason, source=source)
    write(lambda s: s.add(rule), engine)


def avoided_signatures(engine: Engine | None = None) -> set[str]:
    with session(engine) as s:
        return set(s.exec(select(AvoidanceRule.signature)).all())
