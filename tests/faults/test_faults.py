"""The two cheapest faults of `bench/faults.py`, as tests: a 429 storm with Retry-After, and the run
SIGKILLed mid-way and run again. Each is a real `apprentice generate` in a child process against
the stub model server, on a real `prefect server`; afterwards every requested record is written
exactly once (by index and by content hash) and the call ledger books what the stub answered."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bench.faults import FAULTS, Settings, prefect_server, run_fault

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    work = tmp_path_factory.mktemp("faults")
    with prefect_server(work) as prefect:
        yield Settings(n=20, delay_ms=100, batch_size=5, concurrency=1, work=work, prefect=prefect, timeout_s=180)


@pytest.mark.parametrize("name", ["rate_limit_storm", "sigkill_rerun"])
def test_a_fault_mid_run_leaves_every_record_written_once_and_every_call_booked(settings: Settings, name: str) -> None:
    fault = next(f for f in FAULTS if f.name == name)
    row = run_fault(fault, settings)
    assert row["injected_mid_run"], "the fault came while the run was still making records"
    assert (row["written"], row["lost"], row["duplicated"]) == (20, 0, 0), row
    assert row["exit_codes"][-1] == 0 and not row["traceback"] and not row["hung"], row
    assert row["ledger_matches"], f"{row['ledger_calls']} calls booked, {row['stub_completions']} answered"
