"""The nightly data-generation flow: one job file from `deployments/`, seeded by the night."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger

from apprentice.config import load_settings
from apprentice.dataset import DatasetSummary
from apprentice.jobs import default_run_key, load_job, run_seed
from apprentice.orchestration.dataset import generate_dataset, resolve_spec

DEFAULT_JOB = "deployments/nightly.yaml"


@flow(name="nightly-generation")
async def nightly_generation(
    job: str = DEFAULT_JOB, run_key: str | None = None, n: int | None = None, fresh: bool = False
) -> DatasetSummary:
    """Produce tonight's dataset. `run_key` (default: today's date) seeds it, so rerunning the
    same night resumes that night's run instead of starting over. `n` overrides the job's count;
    `fresh` makes every batch again. A night that could not make every record fails."""
    spec = load_job(job)
    run_key = run_key or default_run_key()
    workflow = resolve_spec(spec.spec, fallback_name=Path(spec.shape).stem)
    out_dir = Path(spec.out_dir) if spec.out_dir else load_settings().home / "out" / "nightly"
    out = out_dir / workflow.name / f"{run_key}.jsonl"
    get_run_logger().info("nightly run %s for %s → %s", run_key, workflow.name, out)
    return await generate_dataset(
        shape=spec.shape,
        n=n or spec.n,
        spec=workflow.model_dump(mode="json"),
        out=str(out),
        batch_size=spec.batch_size,
        concurrency=spec.concurrency,
        seed=run_seed(run_key),
        fresh=fresh,
    )
