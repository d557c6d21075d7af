"""A mock request is an execution of its workflow version: its model calls go to the ledger and
its execution rows to the store (the rows the Prefect hooks write for a batch task run and for a
dataset run, built by the same functions), so trends and the apprenticeship see the server's
traffic. Written off the event loop, after the answer has been sent."""

from __future__ import annotations

import uuid

from sqlalchemy.engine import Engine

from apprentice.backends.ledger import record_calls, stage_calls
from apprentice.dataset import BatchResult, summarise
from apprentice.monitor.hooks import WorkflowIdentity, batch_rows, flow_row, record_executions
from apprentice.workflows import WorkflowSpec


def book(spec: WorkflowSpec, batch: BatchResult, shape_schema: object, engine: Engine | None = None) -> str:
    """Book one request's batch: its calls, a row per stage and a row for the request; returns
    the run id (`mock-…`)."""
    run_id = f"mock-{uuid.uuid4().hex}"
    record_calls([pair for outcome in batch.outcomes for pair in stage_calls(outcome)], run_id=run_id, workflow=spec.name, version=spec.version, engine=engine)
    identity = WorkflowIdentity(spec.name, spec.version)
    state, error = ("Completed", None) if all(o.valid for o in batch.outcomes) else ("Failed", "NoValidAnswer")
    summary = summarise(spec, batch.plan.count, [batch], shape_schema)
    summary.generated = batch.plan.count  # every record of a request is made for it
    record_executions(batch_rows(run_id, state, identity, batch, error) + [flow_row(run_id, state, identity, summary, error)], engine=engine)
    return run_id
