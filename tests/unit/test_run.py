"""`apprentice.generate`: a whole dataset run as a plain library call, no Prefect — records in index
order, meta rows naming the version, rejects beside them, `RunIncomplete` on a shortfall whose
rerun makes only what is missing, `$cache` variants, the seams the Prefect flow plugs into, and
files streamed batch by batch that are byte for byte what writing them at the end gave."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

import apprentice
from apprentice.backends.pool import BackendPool
from apprentice.dataset import batch_size_for
from apprentice.errors import RunIncomplete
from apprentice.run import BatchRun, generate_async

from .fakes import Script, chat_reply, pool_config, transports

SHAPE = {"city": "string", "population": 0}
SPEC = {
    "name": "towns",
    "version": "2",
    "sampling": False,
    "realism_checks": False,
    "stages": [{"name": "draft", "role": "generate", "corrections": 1}],
}


def record_number(request: httpx.Request) -> int | None:
    """The record a generation prompt asks for (`Create record number N`), None for a correction."""
    found = re.search(r"record number (\d+)", request.content.decode())
    return int(found.group(1)) - 1 if found else None


def towns(*, rejected: frozenset[int] = frozenset(), down: frozenset[int] = frozenset()):
    """A fake model that answers by record: a valid town, a record that stays invalid after
    corrections (`rejected`), or a refused connection (`down`)."""

    def answer(request: httpx.Request) -> httpx.Response:
        index = record_number(request)
        if index in down:
            raise httpx.ConnectError("refused")
        if index is None or index in rejected:
            return chat_reply(json.dumps({"town": "?"}))
        return chat_reply(json.dumps({"city": f"Town {index}", "population": 1000 + index}))

    return Script(answer)


async def _no_sleep(_seconds: float) -> None:
    return None


def pool_of(script: Script) -> BackendPool:
    config = pool_config({"name": "local"}, attempts=1, failure_threshold=1000)
    return BackendPool(config, transport_factory=transports({"local": script}), sleep=_no_sleep)


def lines(path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_public_names_are_pinned_and_importing_them_loads_no_prefect():
    assert apprentice.__all__ == [
        "ApprenticeError",
        "DatasetSummary",
        "RunIncomplete",
        "__version__",
        "generate",
        "generate_async",
        "load_dataset",
    ]
    assert all(getattr(apprentice, name) is not None for name in apprentice.__all__)
    probe = "import sys, apprentice; apprentice.generate; print('prefect' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip() == "False"


async def test_a_run_writes_valid_records_in_index_order_with_meta_rows_and_rejects_beside_them(tmp_path):
    out = tmp_path / "towns.jsonl"
    script = towns(rejected=frozenset({2, 5}))
    summary = await generate_async(SHAPE, n=7, spec=SPEC, out=out, batch_size=3, concurrency=3, pool=pool_of(script), seed=11)
    assert (summary.records, summary.invalid, summary.not_made, summary.generated) == (5, 2, 0, 7)
    assert [r["city"] for r in lines(out)] == [f"Town {i}" for i in (0, 1, 3, 4, 6)]
    meta = lines(out.with_suffix(".meta.jsonl"))
    assert [(m["index"], m["valid"], m["version"]) for m in meta] == [(i, i not in (2, 5), "towns@2") for i in range(7)]
    rejects = lines(out.with_suffix(".rejects.jsonl"))
    assert [r["index"] for r in rejects] == [2, 5] and all(r["reason"] for r in rejects)
    assert summary.rejects == str(out.with_suffix(".rejects.jsonl")) and summary.out == str(out.resolve())


async def test_a_run_backends_left_short_fails_after_writing_and_its_rerun_makes_only_what_is_missing(tmp_path):
    out = tmp_path / "towns.jsonl"
    with pytest.raises(RunIncomplete, match="made 5 of 6 records; 1 were not made because backends failed") as failed:
        await generate_async(SHAPE, n=6, spec=SPEC, out=out, batch_size=3, pool=pool_of(towns(down=frozenset({4}))), seed=12)
    assert failed.value.summary is not None and failed.value.summary.not_made == 1 and len(lines(out)) == 5
    assert lines(out.with_suffix(".meta.jsonl"))[4]["not_made"]
    healed = towns()
    summary = await generate_async(SHAPE, n=6, spec=SPEC, out=out, batch_size=3, pool=pool_of(healed), seed=12)
    assert summary.records == 6 and [r["city"] for r in lines(out)] == [f"Town {i}" for i in range(6)]
    numbers = [record_number(httpx.Request("POST", "http://x", content=json.dumps(r))) for r in healed.requests]
    assert None not in numbers
    asked = sorted(n for n in numbers if n is not None)
    assert asked == [0, 1, 2, 4], "the incomplete batch's made records are kept; only record 4 is asked for again"


async def test_cache_variants_are_made_once_then_served_without_a_model_call(tmp_path):
    shape = {"$cache": 3, **SHAPE}
    first = towns()
    summary = await generate_async(shape, n=8, spec=SPEC, out=tmp_path / "a.jsonl", pool=pool_of(first), seed=1)
    assert (summary.records, summary.from_cache, len(first.requests)) == (8, 8, 3)
    again = towns()
    served = await generate_async(shape, n=5, spec=SPEC, out=tmp_path / "b.jsonl", pool=pool_of(again), seed=2)
    assert (served.records, served.cost_usd, len(again.requests)) == (5, 0.0, 0)
    assert {r["city"] for r in lines(tmp_path / "b.jsonl")} <= {f"Town {i}" for i in range(3)}


async def test_the_flow_seams_make_batches_publish_and_monitor_a_fresh_run(tmp_path):
    pool, made, published, monitored = pool_of(towns()), [], [], []

    async def run_batch(job):
        from apprentice.dataset import make_batch

        made.append(job.plan.index)
        return BatchRun(await make_batch(pool, job.spec, job.shape, job.plan), reused=job.plan.index == 0)

    async def publish(summary, sample):
        published.append((summary.records, [o.index for o in sample]))

    async def monitor(workflow, summary, totals, source):
        monitored.append((workflow.key, summary.records, source))

    shape_file = tmp_path / "towns.json"
    shape_file.write_text(json.dumps(SHAPE))
    summary = await generate_async(
        str(shape_file), n=4, spec=SPEC, out=tmp_path / "o.jsonl", batch_size=2, run_batch=run_batch, publish=publish, monitor=monitor
    )
    assert sorted(made) == [0, 1] and summary.batches_reused == 1 and summary.generated == 2
    assert published == [(4, [0, 1, 2, 3])]
    assert monitored == [("towns@2", 4, {"shape": str(shape_file)})]


async def test_without_a_batch_size_a_run_makes_two_batches_per_parallel_lane_of_at_least_ten_records(tmp_path):
    """Every batch is a Prefect subflow whose start costs a round trip (2 s more when the SQLite
    server's writes collide), so the default is few batches, never a batch per 10 records."""
    pool, sizes = pool_of(towns()), []

    async def run_batch(job):
        from apprentice.dataset import make_batch

        sizes.append(job.plan.count)
        return BatchRun(await make_batch(pool, job.spec, job.shape, job.plan))

    for n, expected in ((45, [12, 12, 12, 9]), (15, [10, 5])):
        sizes.clear()
        await generate_async(SHAPE, n=n, spec=SPEC, out=tmp_path / f"{n}.jsonl", parallel_batches=2, run_batch=run_batch)
        assert sorted(sizes, reverse=True) == expected
    assert batch_size_for(1_000_000, 2) == 500


def test_the_blocking_twin_runs_the_same_call(tmp_path):
    summary = apprentice.generate(SHAPE, n=2, spec=SPEC, out=tmp_path / "o.jsonl", pool=pool_of(towns()))
    assert isinstance(summary, apprentice.DatasetSummary) and summary.records == 2


def written_at_the_end(batches, out) -> dict[str, bytes]:
    """The files as the run wrote them before streaming (all outcomes held, sorted, written at
    the end), kept here as the reference the streamed files must equal byte for byte."""
    served = sorted(((o, f"{b.workflow}@{b.version}") for b in batches for o in b.outcomes), key=lambda pair: pair[0].index)

    def jsonl(rows) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode("utf-8", "backslashreplace")

    meta = [
        {"index": o.index, "valid": o.valid, "version": v, **o.meta} | ({"not_made": o.reason} if o.failure == "backend" else {})
        for o, v in served
    ]
    rejected = [{"index": o.index, "reason": o.reason, "record": o.record} for o, _ in served if not o.valid and o.failure != "backend"]
    return {"records": jsonl(o.record for o, _ in served if o.valid), "meta": jsonl(meta), "rejects": jsonl(rejected)}


def nordic(*, rejected: frozenset[int]):
    def answer(request: httpx.Request) -> httpx.Response:
        index = record_number(request)
        if index is None or index in rejected:
            return chat_reply(json.dumps({"town": "?"}))
        return chat_reply(json.dumps({"city": f"Tromsø {index} \u2014 «nord»", "population": 1000 + index}, ensure_ascii=False))

    return Script(answer)


async def test_streamed_files_equal_byte_for_byte_what_writing_at_the_end_gave_for_a_multi_batch_run_with_rejects(tmp_path):
    import asyncio

    from apprentice.dataset import make_batch

    pool, finished = pool_of(nordic(rejected=frozenset({1, 7, 8, 13}))), []

    async def run_batch(job):  # the first batch finishes last, so batches arrive out of order
        result = await make_batch(pool, job.spec, job.shape, job.plan, concurrency=2)
        await asyncio.sleep(0.2 if job.plan.index == 0 else 0)
        finished.append(result)
        return BatchRun(result)

    out = tmp_path / "towns.jsonl"
    summary = await generate_async(SHAPE, n=17, spec=SPEC, out=out, batch_size=3, parallel_batches=3, run_batch=run_batch, seed=5)
    assert finished[0].plan.index != 0 and (summary.records, summary.invalid) == (13, 4)
    expected = written_at_the_end(finished, out)
    assert out.read_bytes() == expected["records"]
    assert out.with_suffix(".meta.jsonl").read_bytes() == expected["meta"]
    assert out.with_suffix(".rejects.jsonl").read_bytes() == expected["rejects"]
    assert not list(tmp_path.glob("*.tmp"))


class Killed(BaseException):
    """Stands in for a signal that ends the run midway."""


async def test_a_run_killed_midway_leaves_no_half_written_file_and_its_rerun_writes_the_same_files(tmp_path):
    from apprentice.dataset import make_batch

    pool = pool_of(towns(rejected=frozenset({4})))

    async def dies_at_batch_2(job):
        if job.plan.index == 2:
            raise Killed
        return BatchRun(await make_batch(pool, job.spec, job.shape, job.plan))

    killed, whole = tmp_path / "killed.jsonl", tmp_path / "whole.jsonl"
    with pytest.raises(Killed):
        await generate_async(SHAPE, n=9, spec=SPEC, out=killed, batch_size=2, parallel_batches=1, run_batch=dies_at_batch_2)
    assert list(tmp_path.iterdir()) == [], "neither a final file nor a temporary one is left"
    await generate_async(SHAPE, n=9, spec=SPEC, out=killed, batch_size=2, pool=pool)
    await generate_async(SHAPE, n=9, spec=SPEC, out=whole, batch_size=2, pool=pool)
    for suffix in (".jsonl", ".meta.jsonl", ".rejects.jsonl"):
        assert killed.with_suffix(suffix).read_bytes() == whole.with_suffix(suffix).read_bytes()


def observed_from_every_record(spec, summary, batches):
    """The observation as it was built when a run held every record (the reference the running
    totals must reproduce): sizes and sample read off the valid records themselves."""
    from apprentice.monitor.apprenticeship import Observation

    outcomes = [o for b in sorted(batches, key=lambda b: b.plan.index) for o in sorted(b.outcomes, key=lambda o: o.index)]
    valid, per_record = [o for o in outcomes if o.valid], max(1, len(outcomes))
    values = {
        "latency_s": summary.seconds_per_record or 0.0,
        "validity": summary.records / max(1, summary.requested),
        "cost_usd": summary.cost_usd / per_record,
        "tokens": (summary.input_tokens + summary.output_tokens) / per_record,
        "quality": summary.quality or 0.0,
        "output_chars": sum(len(json.dumps(o.record)) for o in valid) / len(valid),
        **(summary.realism.metrics() if summary.realism and summary.realism.records else {}),
    }
    for stage in dict.fromkeys(m.stage for o in outcomes for m in o.stages):
        runs = [m for o in outcomes for m in o.stages if m.stage == stage]
        values[f"{stage}:latency_s"] = sum(m.latency_s for m in runs) / len(runs)
        values[f"{stage}:tokens"] = sum(m.input_tokens + m.output_tokens for m in runs) / len(runs)
        values[f"{stage}:validity"] = sum(m.valid for m in runs) / len(runs)
    findings = summary.realism.findings() if summary.realism and summary.realism.records else []
    return Observation(
        workflow=spec.name, version=spec.version, run_id="r", values=values, findings=findings, sample=[o.record for o in valid[:3]]
    )


async def test_the_apprenticeship_observes_from_running_totals_what_it_observed_from_every_record(tmp_path):
    from apprentice.dataset import make_batch
    from apprentice.monitor.observe import observation
    from apprentice.run import resolve_spec

    pool, spec, batches, monitored = pool_of(nordic(rejected=frozenset({0, 2, 3}))), resolve_spec(SPEC, fallback_name="x"), [], []

    async def run_batch(job):
        batches.append(await make_batch(pool, job.spec, job.shape, job.plan))
        return BatchRun(batches[-1])

    async def monitor(workflow, summary, records, source):
        monitored.append(observation(workflow, summary, records, "r"))

    summary = await generate_async(SHAPE, n=11, spec=SPEC, out=tmp_path / "o.jsonl", batch_size=4, run_batch=run_batch, monitor=monitor)
    assert (summary.records, summary.invalid) == (8, 3) and summary.realism is not None and summary.realism.records == 8
    assert monitored[0].model_dump() == observed_from_every_record(spec, summary, batches).model_dump()
    assert monitored[0].sample == [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()[:3]]


async def test_a_batch_does_not_repeat_a_text_another_batch_of_the_run_wrote(tmp_path):
    """Batches used to check near duplicates only among themselves: batch 1 could write the very
    story batch 0 wrote. The run's batches now share one realism index."""
    stories = [
        "A lighthouse keeper finds a message in a bottle and sails to the island it names.",
        "Two rival bakers in a small town are forced to share one oven for a winter festival.",
        "A lighthouse keeper finds a message in a bottle and sails to the island it names.",  # batch 1 repeats batch 0
        "An astronaut on the night shift hears a radio station that went off the air in 1962.",
        "A retired detective takes up beekeeping and finds a clue in the honey.",
    ]
    script = Script(lambda _r: chat_reply(json.dumps({"story": stories[min(len(script.requests), len(stories)) - 1]})))
    spec = {"name": "stories", "sampling": False, "stages": [{"name": "draft", "role": "generate", "corrections": 0}]}
    summary = await generate_async(
        {"story": "A two-sentence story"},
        n=4,
        spec=spec,
        out=tmp_path / "s.jsonl",
        batch_size=2,
        concurrency=1,
        parallel_batches=1,
        pool=pool_of(script),
    )
    written = [json.loads(line)["story"] for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert len(written) == 4 and len(set(written)) == 4, written
    assert summary.realism is not None and summary.realism.near_duplicate_rate == 0


@pytest.mark.parametrize("full_at", ["a batch's rows", "the last bytes, as the files close"])
async def test_a_full_disk_fails_the_run_in_one_line_and_removes_its_partial_files(tmp_path, monkeypatch, full_at):
    import errno

    from apprentice import formats
    from apprentice.errors import OutputError

    def no_space(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(formats.JsonLines, "write" if full_at == "a batch's rows" else "close", no_space)
    out = tmp_path / "disk" / "out.jsonl"
    with pytest.raises(OutputError) as failure:
        await generate_async(SHAPE, n=6, spec=SPEC, out=out, batch_size=2, pool=pool_of(towns()), seed=3)
    assert str(failure.value).startswith("cannot write out.jsonl in ") and "No space left on device" in str(failure.value)
    assert "run the same command again" in str(failure.value)
    assert list(out.parent.iterdir()) == [], "no partial file is left taking the space"
