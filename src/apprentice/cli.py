"""`apprentice`: the things a person does by hand.

Exit codes:

0  every requested record was written.

1  the run failed: backends left records unmade, none was valid, or its files could not be written (a full disk). The same command resumes.

2  bad input or configuration: nothing was run.

3  the run completed, but some records were rejected for their content (reasons in NAME.rejects.jsonl).

130  interrupted: finished batches are kept; the same command resumes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from apprentice.errors import ApprenticeError, ConfigError, OutputError, RunIncomplete, ShapeError
from apprentice.formats import Format as OutputFormat
from apprentice.progress import live_progress

# Before anything imports Prefect (it reads its settings once): a temporary Prefect server on a new
# PREFECT_HOME first builds its database, which on 2 busy cores takes longer than Prefect's 20 s
# default, and a first run would die before it started.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
server_app = typer.Typer(no_args_is_help=True, help="Start, stop or check the embedded llama.cpp server.")
app.add_typer(server_app, name="server")
console = Console()
err = Console(stderr=True)


def one_line_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (RunIncomplete, OutputError) as exc:
            err.print(f"[red]failed:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except ApprenticeError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _interrupt(run: asyncio.Task) -> None:
    """SIGTERM or Ctrl-C: cancel the run (Prefect records it as Crashed; finished batches stay
    cached). From here on the terminal gets one line, not Prefect's crash reports nor errors
    from an API the same signal stopped. A second signal does not wait for the clean-up."""
    global _signals
    _signals += 1
    if _signals > 1:  # counted here: the terminal filter may have seen Prefect's report of this same first signal
        _say_interrupted()  # Prefect may re-raise the first signal before the run's own clean-up has said it
        os._exit(130)
    _TerminalFilter.interrupted, logging.raiseExceptions = True, False
    run.cancel()


_signals = 0
_said = False


def _exit_after_cleanup_or(seconds: float) -> None:
    """Give Prefect's clean-up `seconds` to end the process, then end it: a second signal during
    the clean-up can leave Prefect's event-loop threads running, and the interpreter waits on them
    forever. A further signal ends it at once (the line was said)."""

    def give_up() -> None:
        time.sleep(seconds)
        os._exit(130)

    threading.Thread(target=give_up, daemon=True).start()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: os._exit(130))


def _say_interrupted() -> None:
    """The one line an interrupted run ends with, said once whichever way the run stops."""
    from apprentice.run import RunProgress

    global _said
    if _said:
        return
    _said = True
    p = RunProgress
    err.print(
        f"interrupted: {p.done} of {p.batches} batches finished and kept ({p.records} valid records); run the same command again to resume",
        highlight=False,
        soft_wrap=True,
    )


class _TerminalFilter(logging.Filter):
    """On the terminal, Prefect's "task run failed" lines show apprentice's own errors as their
    one-line message (their traceback is Prefect's call stack, not news to the user), and after
    an interrupt nothing but the line that says what was kept."""

    interrupted = False
    # Prefect's own SIGTERM handler (installed while a flow runs) reports the crash before our
    # handler hears of it; its words are the first sign of an interrupt.
    SIGNS = ("aborted by a termination signal", "cancelled by the runtime environment")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], ApprenticeError):
            record.exc_info, record.exc_text = None, None
        if any(sign in record.getMessage() for sign in self.SIGNS):
            type(self).interrupted = True
        return not self.interrupted


def _terminal_logs_in_one_line() -> None:
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.root] + [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.startswith("prefect")]
    for handler in {h for lg in loggers for h in lg.handlers if isinstance(h, PrefectConsoleHandler)}:
        handler.addFilter(_TerminalFilter())


def run_flow(flow_call: Awaitable[Any], *, records: int | None = None) -> Any:
    """Run a flow to its end, with a live progress display of its `records` on a terminal. A
    Ctrl-C or a SIGTERM (a scheduler's, `timeout`'s) ends it in one line that says what was
    kept, instead of a traceback and noise from a Prefect API that the same signal has already
    stopped."""
    from prefect.exceptions import TerminationSignal

    async def main() -> Any:
        loop, run = asyncio.get_running_loop(), asyncio.current_task()
        assert run is not None  # main() is asyncio.run's task
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, _interrupt, run)
        return await flow_call

    _terminal_logs_in_one_line()
    try:
        with live_progress(records or 0, console, enabled=records is not None):
            return asyncio.run(main())
    except (KeyboardInterrupt, TerminationSignal, asyncio.CancelledError):
        _TerminalFilter.interrupted, logging.raiseExceptions = True, False
        _say_interrupted()
        _exit_after_cleanup_or(seconds=20)
        raise typer.Exit(130) from None


def _report(summary: Any) -> None:
    """Exit 3 when the run completed but some records were rejected for their content."""
    if summary.invalid:
        err.print(
            f"{summary.invalid} of {summary.requested} records were rejected for their content; reasons in {summary.rejects}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(3)


@app.command()
@one_line_errors
def generate(
    shape: Annotated[Path, typer.Argument(help="example JSON document or JSON Schema (*.schema.json)")],
    n: Annotated[int, typer.Option("-n", "--count", min=1, help="records to generate")] = 5,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="file to write (default: out.FORMAT)")] = None,
    fmt: Annotated[
        OutputFormat | None, typer.Option("--format", help="how the records are written (default: what --out's name says, else jsonl)")
    ] = None,
    spec: Annotated[Path | None, typer.Option(help="workflow spec (YAML/JSON)")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="records per batch (default: N in 4 batches, 10–500)")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 2,
    seed: int = 0,
    backends: Annotated[Path | None, typer.Option(help="backend file (default: $APPRENTICE_BACKENDS_FILE or embedded)")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="ignore batches finished by earlier runs")] = False,
    library: Annotated[
        bool, typer.Option("--library", help="without --spec, reuse the spec the solution library solved this request with; keep this one")
    ] = False,
) -> None:
    """Generate N records valid for SHAPE through the dataset flow and write them as JSONL,
    Parquet or CSV (rejects and per-record meta rows beside them, as JSONL). With --library, a
    request nearly like one solved before runs that solution's spec, and a run that validated is
    kept in the solution library."""
    from apprentice.config import load_pool_config, load_settings
    from apprentice.orchestration.dataset import generate_dataset, resolve_spec
    from apprentice.preflight import preflight
    from apprentice.shapes.schema import load_shape

    chosen = OutputFormat.choose(fmt, out)
    out = out or Path(f"out.{chosen.value}")
    settings = load_settings()
    compiled = load_shape(shape)
    workflow = resolve_spec(str(spec) if spec else None, fallback_name=shape.stem.removesuffix(".schema"))
    match = None
    if library:
        from apprentice.learning.runs import spec_for_run

        workflow, match = spec_for_run(compiled, n, workflow) if spec is None else (workflow, None)
        console.print(f"library: {match.reason if match else 'not consulted: --spec names the spec'}", highlight=False)
    preflight(workflow, load_pool_config(backends, settings), settings, compiled)
    _quiet_prefect()
    summary = run_flow(
        generate_dataset(
            shape=str(shape),
            n=n,
            spec=workflow.model_dump(mode="json"),
            out=str(out),
            format=chosen.value,
            batch_size=batch_size,
            concurrency=concurrency,
            seed=seed,
            backends_file=str(backends) if backends else None,
            fresh=fresh,
        ),
        records=n,
    )
    console.print(f"wrote {summary.records} valid records to {summary.out}")
    if match is not None:
        from apprentice.learning.runs import remember_run

        kept = remember_run(compiled, n, workflow, summary, match)
        console.print(f"library: {'kept this run as solution ' + kept.id if kept else 'this run did not validate; nothing kept'}")
    _report(summary)


@app.command()
@one_line_errors
def nightly(
    job: Annotated[Path, typer.Option(help="job file")] = Path("deployments/nightly.yaml"),
    run_key: Annotated[str | None, typer.Option(help="which night (default today); same key resumes")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="ignore batches finished by earlier runs of this night")] = False,
) -> None:
    """Run the nightly generation job once, now, and say where its output and Prefect run are."""
    from apprentice.config import load_pool_config, load_settings
    from apprentice.jobs import load_job
    from apprentice.orchestration.dataset import resolve_spec
    from apprentice.orchestration.nightly import nightly_generation
    from apprentice.preflight import preflight
    from apprentice.shapes.schema import load_shape

    settings = load_settings()
    spec = load_job(job)
    workflow = resolve_spec(spec.spec, fallback_name=Path(spec.shape).stem)
    preflight(workflow, load_pool_config(None, settings), settings, load_shape(spec.shape))
    _quiet_prefect()
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    state = run_flow(nightly_generation(job=str(job.resolve()), run_key=run_key, fresh=fresh, return_state=True), records=spec.n)
    outcome = state.result(raise_on_failure=False)
    summary = outcome.summary if isinstance(outcome, RunIncomplete) else outcome
    if summary is not None and not isinstance(summary, BaseException):
        console.print(f"records: {summary.records} valid, {summary.invalid} rejected, {summary.not_made} not made → {summary.out}")
    run_id = state.state_details.flow_run_id
    api = PREFECT_API_URL.value()
    console.print(
        f"prefect flow run: {run_id} ({state.name})"
        + (
            f" (UI: {PREFECT_UI_URL.value()}/runs/flow-run/{run_id})"
            if api
            else " (ephemeral API; start `prefect server start` to browse runs)"
        )
    )
    if isinstance(outcome, (RunIncomplete, ConfigError, ShapeError)):
        raise outcome  # exit 1 for a shortfall, 2 for input found bad only inside the run
    if isinstance(outcome, BaseException):
        raise RunIncomplete(f"the nightly run stopped on an error: {outcome}")
    _report(summary)


@app.command()
@one_line_errors
def plan(
    shape: Annotated[Path, typer.Argument(help="example JSON document or JSON Schema")],
    spec: Annotated[Path | None, typer.Option(help="workflow spec (its `fields` overrides and `sampling`)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the sample rows shown")] = 0,
) -> None:
    """Show who fills each field of SHAPE — a sampler, a derivation or the model — and why, with
    three sample rows of the sampled and derived values."""
    from apprentice.dataset import plan_presets
    from apprentice.orchestration.dataset import resolve_spec
    from apprentice.shapes.schema import load_shape

    compiled = load_shape(shape)
    workflow = resolve_spec(str(spec) if spec else None, fallback_name=shape.stem.removesuffix(".schema"))
    field_plan, rows = plan_presets(workflow, compiled, 3, seed)
    if field_plan is None:
        console.print("no field plan: the shape is not an object, or the spec turns sampling off; the model writes every field")
        return
    console.print(field_plan_table(field_plan, rows or []))
    console.print(
        f"{field_plan.sampled_share():.0%} of the fields are sampled or derived; the model writes "
        f"{', '.join(field_plan.model_fields()) or 'none'}"
    )


def field_plan_table(field_plan: Any, rows: list[dict[str, Any]]) -> Table:
    """Who fills each field and why, with a column of sampled and derived values per row."""
    table = Table("field", "source", "sampler / from", "why", *[f"row {i}" for i in range(len(rows))], title="field plan")
    for f in field_plan.fields:
        values = [json.dumps(r.get(f.name), ensure_ascii=False) if f.name in r else "–" for r in rows]
        table.add_row(f.name, f.source.value, f.sampler or ", ".join(f.derived_from), f.reason, *values)
    return table


@app.command()
@one_line_errors
def preview(
    shape: Annotated[Path, typer.Argument(help="example JSON document or JSON Schema")],
    spec: Annotated[Path | None, typer.Option(help="workflow spec (YAML/JSON)")] = None,
    n: Annotated[int, typer.Option("-n", "--count", min=1, max=50, help="records to make")] = 5,
    seed: int = 0,
    backends: Annotated[Path | None, typer.Option(help="backend file (default: $APPRENTICE_BACKENDS_FILE or embedded)")] = None,
) -> None:
    """Make a handful of records for SHAPE now, without a Prefect run, and show them with the
    field plan and a profile of each field (types, distinct values, range, realism defects)."""
    from apprentice.preview import make_preview, render

    made = asyncio.run(make_preview(shape, spec=spec, n=n, seed=seed, backends_file=str(backends) if backends else None))
    render(made, console, field_plan_table(made.field_plan, []) if made.field_plan else None)


@app.command()
@one_line_errors
def doctor(
    build_only: Annotated[bool, typer.Option("--build-only", help="only the embedded build (what `make setup` ends with)")] = False,
    file: Annotated[Path | None, typer.Option(help="backend file")] = None,
) -> None:
    """Check what a run needs, one line each: the embedded build on this CPU, a real one-token and
    multi-token completion per backend, the Prefect API, the store, the result cache."""
    from apprentice import doctor as checks
    from apprentice.backends.local import ensure_embedded, find_model_file
    from apprentice.config import load_pool_config, load_settings

    settings = load_settings()
    results = [checks.check_build(find_model_file())]
    if not build_only:
        from prefect.settings import get_current_settings

        prefect = get_current_settings()
        pool = load_pool_config(file, settings)
        if results[0].ok:
            ensure_embedded(pool.backends, settings)
        results += checks.check_backends(pool)
        results += [
            checks.check_prefect(prefect.api.url),
            checks.check_store(settings),
            checks.check_result_cache(settings, prefect.results.default_storage_block),
        ]
    for c in results:
        mark = "[green]ok  [/green]" if c.ok else "[red]FAIL[/red]"
        console.print(f"{mark} {c.name}: {c.detail}" + (f" → {c.fix}" if c.fix else ""), highlight=False, soft_wrap=True)
    if not all(c.ok for c in results):
        raise typer.Exit(1)


@app.command()
@one_line_errors
def serve(
    host: Annotated[str, typer.Option(help="address to bind; anything but 127.0.0.1 exposes the server")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535)] = 5116,
    backends: Annotated[Path | None, typer.Option(help="backend file (default: $APPRENTICE_BACKENDS_FILE or embedded)")] = None,
    openapi: Annotated[Path | None, typer.Option(help="OpenAPI document whose operations are mounted under /api/mock/")] = None,
    workflows: Annotated[Path | None, typer.Option(help="directory of workflow specs that X-Workflow names")] = Path("deployments"),
    api_key: Annotated[str | None, typer.Option(envvar="APPRENTICE_SERVE_API_KEY", help="key for every route outside /api/mock/")] = None,
) -> None:
    """Serve the mock API (LLMockApi's /api/mock/{path}) with validated, realism-checked answers."""
    from apprentice.mockapi.server import ServeOptions, uvicorn_parts
    from apprentice.mockapi.server import serve as run_server

    options = ServeOptions(
        host=host,
        port=port,
        backends_file=backends,
        openapi=openapi,
        workflows_dir=workflows if workflows and workflows.is_dir() else None,
        api_key=api_key,
    )
    parts = uvicorn_parts()
    console.print(f"apprentice mock API on http://{host}:{port}/api/mock/ ({parts.http}, {parts.loop}; Ctrl-C stops it)")
    run_server(options)


@app.command()
@one_line_errors
def backends(file: Annotated[Path | None, typer.Option(help="backend file")] = None) -> None:
    """List the backend pool and whether each server answers."""
    from apprentice.config import load_pool_config
    from apprentice.errors import MissingApiKeyError
    from apprentice.preflight import reachable

    table = Table("name", "provider", "tier", "model", "url", "enabled", "status")
    for b in load_pool_config(file).backends:
        try:
            status = "up" if reachable(b, 2.0) else "down"
        except MissingApiKeyError:
            status = f"missing ${b.api_key_env}"
        table.add_row(b.name, b.provider, b.tier.value, b.model, b.base_url, str(b.enabled), status)
    console.print(table)


@app.command()
@one_line_errors
def status(workflow: Annotated[str | None, typer.Argument(help="only this workflow")] = None) -> None:
    """Workflow versions: apprenticeship state, executions, graduation, last drift, monitoring
    cost; judge calibration; model calls by purpose (calls, failures, HTTP attempts, tokens, USD)."""
    from apprentice.monitor.status import judge_rows, spend_rows, status_rows

    rows = [r for r in status_rows() if workflow is None or r["workflow"].split("@")[0] == workflow]
    table = Table(
        "workflow@version",
        "state",
        "executions",
        "good / refused",
        "graduation",
        "good rests on",
        "judge calls",
        "monitoring $/exec (apprentice)",
        "(graduated)",
        "last drift",
    )
    for r in rows:
        table.add_row(
            r["workflow"],
            r["state"],
            str(r["executions"]),
            r["good_refused"],
            r["graduation"],
            r["basis"],
            str(r["judge_calls"]),
            r["cost_per_exec_apprentice"],
            r["cost_per_exec_graduated"],
            r["last_drift"],
        )
    console.print(table if rows else "no workflow has run yet")
    judges = Table("judge", "tier", "status", "detects planted defects", "false alarms on clean samples")
    for judge in judge_rows():
        judges.add_row(judge["judge"], judge["tier"], judge["status"], judge["detection"], judge["false_alarms"])
    console.print(judges if judges.row_count else "judges: not calibrated yet (calibration runs while a workflow is an apprentice)")
    covers = f"model calls of {workflow or 'every workflow'}, by purpose"
    spend = Table("purpose", "calls", "failed", "HTTP attempts", "tokens", "cost ($)", title=covers)
    for r in spend_rows(workflow):
        spend.add_row(r["purpose"], r["calls"], r["failed"], r["attempts"], r["tokens"], r["cost"])
    console.print(spend if spend.row_count else "model calls: none booked yet")
    if workflow is not None:
        _print_simplifications(workflow)


def _print_simplifications(workflow: str) -> None:
    """A workflow's simplifications: those its live (else latest) version's runs support, and those taken."""
    from apprentice.learning.simplify import proposals_for, taken_for

    proposed = Table(
        "proposed simplification", "n", "validity with → without", "p", "saves $/record", title=f"self-simplification of {workflow}"
    )
    for p in proposals_for(workflow):
        e = p.evidence
        shares = " → ".join("–" if q is None else f"{q:.1%}" for q in (e.quality_with, e.quality_without))
        proposed.add_row(f"{p.action} ({p.key}): {p.reason}", str(e.n), shares, f"{e.p_value:.2g}", f"{e.cost_saved_usd:.6f}")
    console.print(proposed if proposed.row_count else "simplifications: none proposed (no stage measured as adding nothing)")
    taken = Table("taken", "mutation", "status", "reason")
    for v in taken_for(workflow):
        taken.add_row(v.key, v.mutation or "–", v.status, v.reason or "–")
    console.print(taken if taken.row_count else "simplifications: none taken yet")


@app.command()
@one_line_errors
def routes() -> None:
    """What learned routing has measured, per request class: the tier it takes now, that tier's
    records (passed: valid and realistic at once), realism, latency and cost per record, the
    other tiers' record, and the simplifications proposed for the class."""
    from apprentice.learning.outcomes import load_table
    from apprentice.learning.report import route_rows
    from apprentice.learning.router import Router

    rows = route_rows(Router(load_table()))
    table = Table("class", "path", "records", "passed", "realism", "latency", "cost/record", "other tiers", "simplifications")
    for r in rows:
        table.add_row(
            r["class"], r["path"], r["records"], r["passed"], r["realism"], r["latency"], r["cost"], r["others"], r["simplifications"]
        )
    console.print(table if rows else "no routed records yet: a workflow routes by class with `routing: {policy: learned}` (or cascade)")


@app.command()
@one_line_errors
def versions(workflow: Annotated[str, typer.Argument(help="workflow name")]) -> None:
    """A workflow's registered versions: lineage (parent, mutation), status, traffic, apprenticeship state."""
    from apprentice.evolution.registry import versions as registered
    from apprentice.monitor.apprenticeship import load_state

    rows = registered(workflow)
    table = Table("version", "parent", "mutation", "status", "traffic", "apprenticeship")
    for v in rows:
        table.add_row(v.version, v.parent or "–", v.mutation or "–", v.status, f"{v.traffic:.0%}", load_state(v.workflow, v.version).state)
    console.print(table if rows else f"no registered versions of '{workflow}'")


@server_app.command("start")
@one_line_errors
def server_start() -> None:
    """Start the embedded llama.cpp server (SmolLM2-135M) in the background."""
    from apprentice.backends.local import LocalServer, start
    from apprentice.config import load_settings

    server = LocalServer.from_settings(load_settings())
    pid = start(server)
    console.print(f"local model server up at {server.base_url} (pid {pid or 'unknown'}; log {server.log_file})")


@server_app.command("stop")
@one_line_errors
def server_stop() -> None:
    """Stop the embedded server started from this apprentice home."""
    from apprentice.backends.local import LocalServer, stop
    from apprentice.config import load_settings

    stopped = stop(LocalServer.from_settings(load_settings()))
    console.print("stopped" if stopped else "no server was running from this home")


@server_app.command("status")
@one_line_errors
def server_status() -> None:
    from apprentice.backends.local import LocalServer, is_up
    from apprentice.config import load_settings

    server = LocalServer.from_settings(load_settings())
    console.print(json.dumps({"url": server.base_url, "up": is_up(server.base_url)}))


if __name__ == "__main__":
    app()
