"""Faults during a dataset run: does every requested record end up written exactly once?

Each fault gets a real `apprentice generate` in a child process (its own `APPRENTICE_HOME` and
`PREFECT_HOME`, a real `prefect server start` as its API) against the stub model server
(`bench/stub_server.py`, its own per fault, counting every answer it gives). Once some records are
made, the fault is injected; then the run is let finish, and if it did not deliver, the same
command is run again (at most twice). What is checked at the end:

- every index 0..N-1 is in `NAME.meta.jsonl` exactly once and valid, as many records are in
  `NAME.jsonl`, and no two records have the same content hash: *lost* and *duplicated* are 0;
- the call ledger (the store's `call_ledger`) books every completion the stub sent: as served,
  or as cancelled when the run gave up on a call in flight (a failing run cancels its batches);
  no more served than sent, and none missing short of what a SIGKILLed run cannot have booked
  (its calls in flight and those within the ledger writer's linger); *made again* is the
  records whose calls were paid twice (the stub makes a record in one call);
- no run printed a traceback, none hung, none exited 0 short of records.

The faults: the stub killed and started again on its port; a 429 storm with Retry-After; the
backend 10× slower for a while; the Prefect server restarted; the run SIGKILLed, then run again;
PostgreSQL restarted under the store (`pg_ctlcluster`, the store in database `apprentice_faults`);
the output disk filled (a small tmpfs). The baseline row is the same run with no fault.

    python bench/faults.py [--quick] [--n 400] [--delay-ms 50] [--only NAME,...]

`--quick` (under a minute) runs the five faults that need neither root nor a restart of a
service other runs share (`QUICK`), two at a time, 40 records each.

Needs root for the tmpfs and for restarting PostgreSQL (127.0.0.1:5432, trust auth); a fault whose
prerequisite is missing is reported as skipped with the reason. Goal: 0 lost, 0 duplicated, the
ledger matching the stub's count, every row.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
SHAPE = {"city": "string", "country": "string", "population": 0, "summary": "One sentence about the city"}
# The stub writes "value 17" for every string the model is asked for: a realism check would
# rightly reject that, and this bench is about delivery, not realism. City and country are sampled.
SPEC = "name: faults\nrealism_checks: false\nstages:\n  - {name: generate, role: generate}\n  - {name: validate, role: validate}\n"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_STORE = "postgresql+psycopg://postgres@127.0.0.1:5432/apprentice_faults"
MAX_RERUNS = 2
BOOKING_INTERVAL_S = 0.5  # backends/ledger.LedgerBook's linger: how long a booked call may wait to be written


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step_s)
    return True


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class StubServer:
    """The stub model server on a fixed port, started and killed at will; its answers are counted
    in a log file that survives a kill."""

    def __init__(self, work: Path, delay_ms: float) -> None:
        self.port, self.delay_ms = free_port(), delay_ms
        self.log = work / "stub-answers.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, same_port: bool = False) -> None:
        """Start the stub; a first start that loses its port to another process (the machine is
        shared) tries a new one, a restart keeps its port (the run's backend file names it)."""
        for _ in range(1 if same_port else 3):
            if self._launch():
                return
            self.kill()
            self.port = free_port()
        raise RuntimeError("the stub server did not start")

    def _launch(self) -> bool:
        """One start on `self.port`: True once it answers, False if it died or never answered."""
        command = [sys.executable, str(HERE / "stub_server.py"), str(self.port), str(self.delay_ms), "--log", str(self.log)]
        process = self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: answers(f"{self.url}/v1/models") or process.poll() is not None, 60)
        return process.poll() is None and answers(f"{self.url}/v1/models")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def control(self, **faults: float) -> None:
        httpx.post(f"{self.url}/control", json=faults, timeout=5).raise_for_status()

    def count(self, status: str = "served") -> int:
        """Answers given with `status` (served, rate_limited) since the first start."""
        return self.log.read_text().count(status + "\n") if self.log.exists() else 0


class PrefectServer:
    """A real `prefect server start` (SQLite under its own home) that can be restarted on its port."""

    def __init__(self, work: Path) -> None:
        self.port, self.home = free_port(), work / "prefect-server"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        env = {**os.environ, "PREFECT_HOME": str(self.home), "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        env.pop("PREFECT_API_URL", None)
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        log = (self.home.parent / "prefect-server.log").open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until(lambda: answers(f"{self.url}/health"), 180, step_s=0.2):
            raise RuntimeError("the prefect server did not start")

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            self.process = None


@dataclass
class Settings:
    """What every fault's run shares: sizes, the stub's delay, the Prefect server, the files."""

    n: int
    delay_ms: float
    batch_size: int
    concurrency: int
    work: Path
    prefect: PrefectServer
    src: Path = PROJECT / "src"
    code: str = "now"
    """Which apprentice runs: this tree's, or a baseline commit's (`--baseline`)."""
    timeout_s: float = 300.0

    def unbooked_allowed(self, fault: str) -> int:
        """Calls a SIGKILLed run cannot have booked: those in flight (two batches at a time, each
        `concurrency` records), and those answered within the last booking interval."""
        if fault != "sigkill_rerun":
            return 0
        in_flight = 2 * self.concurrency
        return in_flight + math.ceil(in_flight * BOOKING_INTERVAL_S / (self.delay_ms / 1000))

    def files(self) -> tuple[Path, Path]:
        shape, spec = self.work / "city.json", self.work / "faults.workflow.yaml"
        shape.write_text(json.dumps(SHAPE))
        spec.write_text(SPEC)
        return shape, spec


@dataclass
class RunResult:
    exit_code: int | None
    seconds: float
    stderr: str

    @property
    def said(self) -> str:
        """The run's last line that starts with failed/error/interrupted, or ''."""
        lines = [line for line in self.stderr.splitlines() if line.startswith(("failed:", "error:", "interrupted:"))]
        return lines[-1] if lines else ""


@dataclass
class Trial:
    """One fault's dataset run: its stub, homes, output and command."""

    name: str
    settings: Settings
    store_url: str | None = None
    out_dir: Path | None = None
    folder: Path = field(init=False)
    stub: StubServer = field(init=False)
    process: subprocess.Popen | None = None
    runs: list[RunResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder = self.settings.work / self.settings.code / self.name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.stub = StubServer(self.folder, self.settings.delay_ms)
        self.out_dir = self.out_dir or self.folder / "out"
        self.out_dir.mkdir(parents=True, exist_ok=True)

    @property
    def out(self) -> Path:
        assert self.out_dir is not None
        return self.out_dir / "records.jsonl"

    def backends_file(self) -> Path:
        path = self.folder / "backends.toml"
        path.write_text(
            f'[[backends]]\nname = "stub"\nbase_url = "{self.stub.url}/v1"\nmodel = "stub"\nstructured_output = "llama_cpp"\n'
            f"max_concurrency = 8\ntimeout_s = 30\n"
        )
        return path

    def environment(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(self.settings.src),
            "APPRENTICE_HOME": str(self.folder / "home"),
            "PREFECT_HOME": str(self.folder / "prefect-home"),
            "PREFECT_API_URL": self.settings.prefect.url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        env.pop("APPRENTICE_BACKENDS_FILE", None)
        env.pop("APPRENTICE_DATABASE_URL", None)
        if self.store_url:
            env["APPRENTICE_DATABASE_URL"] = self.store_url
        return env

    def command(self) -> list[str]:
        shape, spec = self.settings.files()
        s = self.settings
        return [sys.executable, "-m", "apprentice.cli", "generate", str(shape), "-n", str(s.n), "--out", str(self.out)] + [
            "--spec",
            str(spec),
            "--backends",
            str(self.backends_file()),
            "--batch-size",
            str(s.batch_size),
            "--concurrency",
            str(s.concurrency),
            "--seed",
            "7",
        ]

    def launch(self) -> None:
        log = (self.folder / f"run-{len(self.runs)}.log").open("w")
        self.started = time.monotonic()
        self.process = subprocess.Popen(self.command(), env=self.environment(), stdout=log, stderr=subprocess.PIPE, text=True)

    def finish(self) -> RunResult:
        """Wait for the run (killed if it hangs past the timeout) and record how it ended."""
        assert self.process is not None
        try:
            _, stderr = self.process.communicate(timeout=self.settings.timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, stderr = self.process.communicate()
            stderr += "\nHUNG: killed by the bench after its timeout"
        result = RunResult(self.process.returncode, time.monotonic() - self.started, stderr)
        (self.folder / f"run-{len(self.runs)}.stderr").write_text(stderr)
        self.runs.append(result)
        self.process = None
        return result

    def made_some(self, share: float) -> bool:
        """At least `share` of the records have been answered by the stub, or the run is over."""
        assert self.process is not None
        return self.stub.count() >= share * self.settings.n or self.process.poll() is not None


@dataclass
class Fault:
    """A fault: `inject` runs mid-run and returns when the fault is over (the service is back);
    `heal`, after the first run ended, undoes what must be undone before a rerun."""

    name: str
    what: str
    inject: Callable[[Trial], None]
    heal: Callable[[Trial], None] | None = None
    setup: Callable[[Trial], Any] = lambda trial: None
    teardown: Callable[[Trial], None] = lambda trial: None
    trigger: float = 0.3
    """Share of the records answered before the fault is injected."""


def no_fault(_trial: Trial) -> None:
    return None


def kill_and_restart_stub(trial: Trial) -> None:
    trial.stub.kill()
    time.sleep(2.0)
    trial.stub.start(same_port=True)


def rate_limit_storm(trial: Trial) -> None:
    trial.stub.control(rate_limit_s=4, retry_after_s=1)
    time.sleep(4)


def slow_backend(trial: Trial) -> None:
    seconds = 4 if trial.settings.n < 100 else 8
    trial.stub.control(slow_factor=10, slow_s=seconds)
    time.sleep(seconds)


def restart_prefect(trial: Trial) -> None:
    trial.settings.prefect.stop()
    trial.settings.prefect.start()


def sigkill_run(trial: Trial) -> None:
    assert trial.process is not None
    trial.process.send_signal(signal.SIGKILL)


def restart_postgres(_trial: Trial) -> None:
    subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, capture_output=True)


def fresh_postgres_store(_trial: Trial) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS apprentice_faults WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE apprentice_faults"))
    engine.dispose()


def mount_small_disk(trial: Trial) -> None:
    assert trial.out_dir is not None
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(trial.out_dir)], check=True, capture_output=True)


def fill_disk(trial: Trial) -> None:
    """Write a filler file until the output disk is full."""
    assert trial.out_dir is not None
    try:
        with (trial.out_dir / "filler").open("wb", buffering=0) as filler:
            while True:
                filler.write(b"\0" * 4096)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise


def free_disk(trial: Trial) -> None:
    assert trial.out_dir is not None
    (trial.out_dir / "filler").unlink(missing_ok=True)


def unmount_small_disk(trial: Trial) -> None:
    assert trial.out_dir is not None
    keep = trial.folder / "out-kept"
    shutil.copytree(trial.out_dir, keep, dirs_exist_ok=True)
    subprocess.run(["umount", str(trial.out_dir)], check=False, capture_output=True)
    trial.out_dir = keep


QUICK = ("none", "stub_restart", "rate_limit_storm", "slow_backend", "sigkill_rerun")
"""Faults whose trials share nothing, so `--quick` runs them side by side."""

FAULTS = [
    Fault("none", "no fault (baseline)", no_fault),
    Fault("stub_restart", "model server killed, back 2 s later", kill_and_restart_stub),
    Fault("rate_limit_storm", "429 + Retry-After: 1 for 4 s", rate_limit_storm),
    Fault("slow_backend", "backend 10x slower for a while", slow_backend),
    Fault("prefect_restart", "Prefect server restarted", restart_prefect),
    Fault("sigkill_rerun", "run SIGKILLed, then rerun", sigkill_run, trigger=0.45),
    Fault("postgres_restart", "PostgreSQL restarted under the store", restart_postgres, setup=fresh_postgres_store),
    Fault("disk_full", "output disk (200 KB tmpfs) filled", fill_disk, heal=free_disk, setup=mount_small_disk, teardown=unmount_small_disk),
]


def audit(trial: Trial) -> dict[str, Any]:
    """The final output against the request: indices, content hashes, the ledger vs the stub."""
    out, n = trial.out, trial.settings.n
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    meta_file = out.with_suffix(".meta.jsonl")
    meta = [json.loads(line) for line in meta_file.read_text().splitlines()] if meta_file.exists() else []
    valid = Counter(row["index"] for row in meta if row.get("valid"))
    hashes = Counter(hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest() for r in records)
    duplicated = max(sum(c - 1 for c in valid.values()), sum(c - 1 for c in hashes.values()), len(records) - len(set(valid)))
    ledger, cancelled, by_purpose = ledger_calls(trial)
    return {
        "requested": n,
        "written": len(records),
        "duplicated": duplicated,
        "lost": n - len(set(valid) & set(range(n))),
        "ledger_calls": ledger,
        "ledger_cancelled": cancelled,
        "ledger_by_purpose": by_purpose,
        "stub_completions": trial.stub.count("served"),
        "stub_429s": trial.stub.count("rate_limited"),
    }


def ledger_calls(trial: Trial) -> tuple[int, int, dict[str, int]]:
    """Calls the run's ledger books as served (no error), as cancelled (the run gave up on them in
    flight: the server may have answered them all the same), and served by purpose. A store from
    before the ledger booked failed calls has no `error` column: every row there is served."""
    from sqlalchemy import create_engine, text

    url = trial.store_url or f"sqlite:///{trial.folder / 'home' / 'apprentice.db'}"
    engine = create_engine(url)
    rows: list[Any] = []
    for query in (
        "SELECT purpose, coalesce(error, ''), count(*) FROM call_ledger GROUP BY purpose, coalesce(error, '')",
        "SELECT purpose, '', count(*) FROM call_ledger GROUP BY purpose",
    ):
        try:
            with engine.connect() as connection:
                rows = list(connection.execute(text(query)).all())
            break
        except Exception:  # no such column (an older store), or no store at all: the run booked nothing
            continue
    engine.dispose()
    served = {str(purpose): int(count) for purpose, error, count in rows if not error}
    cancelled = sum(int(count) for _, error, count in rows if error == "cancelled")
    return sum(served.values()), cancelled, served


def trial_for(fault: Fault, settings: Settings) -> Trial:
    store = POSTGRES_STORE if fault.name == "postgres_restart" else None
    return Trial(fault.name, settings, store_url=store)


def run_fault(fault: Fault, settings: Settings) -> dict[str, Any]:
    """Run, inject mid-run, let it finish, rerun while it did not deliver; then audit."""
    trial = trial_for(fault, settings)
    fault.setup(trial)
    trial.stub.start()
    try:
        began = time.monotonic()
        trial.launch()
        wait_until(lambda: trial.made_some(fault.trigger), settings.timeout_s, step_s=0.02)
        injected = trial.process is not None and trial.process.poll() is None
        fault.inject(trial)
        fault_over = time.monotonic()
        first = trial.finish()
        if first.exit_code != 0 and fault.heal is not None:
            fault.heal(trial)
            fault_over = time.monotonic()
        while trial.runs[-1].exit_code != 0 and len(trial.runs) <= MAX_RERUNS:
            trial.launch()
            trial.finish()
        done = time.monotonic()
        return row(fault, trial, injected, began, fault_over, done)
    finally:
        trial.stub.kill()
        fault.teardown(trial)


def row(fault: Fault, trial: Trial, injected: bool, began: float, fault_over: float, done: float) -> dict[str, Any]:
    figures = audit(trial)
    stderr = "\n".join(r.stderr for r in trial.runs)
    last = trial.runs[-1]
    figures |= {
        "fault": fault.name,
        "what": fault.what,
        "injected_mid_run": injected,
        "exit_codes": [r.exit_code for r in trial.runs],
        "rerun_needed": len(trial.runs) > 1,
        "seconds_total": round(done - began, 1),
        "recovery_s": round(done - fault_over, 1),
        "said": [r.said for r in trial.runs if r.said],
        "traceback": "Traceback" in stderr,
        "hung": "HUNG:" in stderr,
        "exit_0_short": last.exit_code == 0 and figures["written"] < trial.settings.n,
    }
    booked = figures["ledger_calls"] + figures["ledger_cancelled"]
    figures["unbooked"] = max(0, figures["stub_completions"] - booked)
    monitoring = figures["ledger_by_purpose"].get("monitoring", 0) + figures["ledger_by_purpose"].get("calibration", 0)
    figures["made_again"] = figures["stub_completions"] - trial.settings.n - monitoring  # the stub makes a record in one call
    figures["unbooked_allowed"] = trial.settings.unbooked_allowed(fault.name)
    figures["ledger_matches"] = (
        figures["ledger_calls"] <= figures["stub_completions"] and figures["unbooked"] <= figures["unbooked_allowed"]
    )
    figures["code"] = trial.settings.code
    figures["ok"] = (
        figures["lost"] == 0
        and figures["duplicated"] == 0
        and figures["ledger_matches"]
        and last.exit_code == 0
        and not figures["traceback"]
    )
    return figures


def prerequisite(fault: Fault) -> str | None:
    """Why this fault cannot run here, or None."""
    if fault.name == "disk_full" and os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if fault.name == "postgres_restart":
        if shutil.which("pg_ctlcluster") is None:
            return "no pg_ctlcluster (PostgreSQL's Debian cluster tools)"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return None
        return "no PostgreSQL at 127.0.0.1:5432"
    return None


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'fault':<17} {'code':>8} {'asked':>5} {'written':>7} {'dup':>3} {'lost':>4} {'rerun':>5} {'exit codes':>10} "
        f"{'recover s':>9} {'total s':>7} {'ledger/stub':>11} {'unbooked':>8} {'again':>5} {'trace':>5} ok"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        if "skipped" in r:
            print(f"{r['fault']:<17} {r['code']:>8} skipped: {r['skipped']}")
            continue
        codes = "→".join(str(c) for c in r["exit_codes"])
        ledger, unbooked = f"{r['ledger_calls']}/{r['stub_completions']}", f"{r['unbooked']} (≤{r['unbooked_allowed']})"
        rerun, trace, ok = ("yes" if r["rerun_needed"] else "no"), ("yes" if r["traceback"] else "no"), ("yes" if r["ok"] else "NO")
        print(
            f"{r['fault']:<17} {r['code']:>8} {r['requested']:>5} {r['written']:>7} {r['duplicated']:>3} {r['lost']:>4} {rerun:>5} "
            f"{codes:>10} {r['recovery_s']:>9} {r['seconds_total']:>7} {ledger:>11} {unbooked:>8} {r['made_again']:>5} {trace:>5} {ok}"
        )
    for r in rows:
        for line in r.get("said", []):
            print(f"  {r['fault']} ({r['code']}): {line[:300]}")


@contextlib.contextmanager
def prefect_server(work: Path) -> Iterator[PrefectServer]:
    server = PrefectServer(work)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="five faults two at a time, 40 records each, the stub answering in 100 ms")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--delay-ms", type=float, default=50.0, help="the stub's answer delay")
    parser.add_argument("--only", default="", help="comma-separated fault names (default: all)")
    parser.add_argument("--baseline", default="", help="also run each fault on this commit's apprentice (from a git worktree)")
    args = parser.parse_args()
    n, delay = (40, 100.0) if args.quick else (args.n, args.delay_ms)
    names = args.only.split(",") if args.only else QUICK if args.quick else [f.name for f in FAULTS]
    chosen = [f for f in FAULTS if f.name in names]
    work = Path(tempfile.mkdtemp(prefix="apprentice-faults-"))
    started = time.monotonic()
    with prefect_server(work) as prefect, baseline_tree(work, args.baseline) as old_src:
        batch_size, concurrency = (10, 1) if args.quick else (20, 2)
        now = Settings(n=n, delay_ms=delay, batch_size=batch_size, concurrency=concurrency, work=work, prefect=prefect)
        codes = ([Settings(**{**vars(now), "src": old_src, "code": args.baseline})] if old_src else []) + [now]
        rows = run_all(chosen, codes, at_once=2 if args.quick else 1)
    print()
    print_table(rows)
    finish(rows, quick=args.quick, n=n, delay=delay, seconds=time.monotonic() - started)


def run_all(faults: list[Fault], codes: list[Settings], *, at_once: int = 1) -> list[dict[str, Any]]:
    """Each fault on each code (the baseline's first), as a row each, `at_once` trials side by side
    (only for faults that share nothing); a row per line as it ends, the table in the given order."""

    def row(fault: Fault, settings: Settings) -> dict[str, Any]:
        reason = prerequisite(fault)
        result = {"fault": fault.name, "code": settings.code, "skipped": reason} if reason else run_fault(fault, settings)
        print(json.dumps(result), flush=True)
        return result

    with ThreadPoolExecutor(max_workers=at_once) as trials:
        return list(trials.map(lambda pair: row(*pair), [(fault, settings) for fault in faults for settings in codes]))


@contextlib.contextmanager
def baseline_tree(work: Path, commit: str) -> Iterator[Path | None]:
    """The baseline commit's `src/` in a git worktree (removed afterwards), or None without one."""
    if not commit:
        yield None
        return
    tree = work / "baseline-tree"
    subprocess.run(["git", "-C", str(PROJECT), "worktree", "add", "--detach", "--quiet", str(tree), commit], check=True)
    try:
        yield tree / "src"
    finally:
        subprocess.run(["git", "-C", str(PROJECT), "worktree", "remove", "--force", str(tree)], check=False)


def finish(rows: list[dict[str, Any]], *, quick: bool, n: int, delay: float, seconds: float) -> None:
    from _report import report  # bench/ is on sys.path when a bench runs as a script

    now = [r for r in rows if "skipped" not in r and r["code"] == "now"]
    report(
        "faults",
        {
            "benchmark": "faults",
            "quick": quick,
            "n": n,
            "stub_delay_ms": delay,
            "seconds": round(seconds, 1),
            "rows": rows,
            "lost": sum(r["lost"] for r in now),
            "duplicated": sum(r["duplicated"] for r in now),
            "every_row_ok": all(r["ok"] for r in now),
        },
    )


if __name__ == "__main__":
    main()
