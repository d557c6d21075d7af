"""The mock API server books off the request path: every answered request's calls and execution
rows are in the store once the server shuts down (none lost, many requests per write), a `$cache`
hit touches no store, and a spec file edited while the server runs is read again."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading

from sqlalchemy import event
from sqlmodel import func, select

from apprentice.mockapi import booking
from apprentice.mockapi.booking import Bookkeeper, book_all
from apprentice.store import CallRecord, ExecutionRecord, session
from tests.unit.mockapi_fakes import Served
from tests.unit.test_mockapi import PROJECT, USER


def count(store, table) -> int:
    with session(store) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def statements(store) -> list[str]:
    """Every SQL statement the store runs from now on."""
    seen: list[str] = []
    event.listen(store, "before_cursor_execute", lambda _c, _cur, statement, *_: seen.append(statement))
    return seen


async def test_every_answered_request_is_booked_by_shutdown(tmp_path):
    served = Served(tmp_path)
    answers = await asyncio.gather(*(served.client.get(f"/api/mock/users/{i}", params={"shape": json.dumps(USER)}) for i in range(12)))
    assert all(a.status_code == 200 for a in answers)
    await served.engine.close()  # what the app's lifespan does at shutdown
    with session(served.store) as s:
        flows = s.exec(select(ExecutionRecord).where(ExecutionRecord.kind == "flow")).all()
    assert len(flows) == 12 and all(r.state == "Completed" for r in flows)
    assert count(served.store, CallRecord) == served.calls("generator") + served.calls("other") >= 12


async def test_requests_queued_together_are_written_together(tmp_path, monkeypatch):
    served = Served(tmp_path)
    inserts = statements(served.store)
    store_free = threading.Event()

    def slow_store(bookings, engine=None):  # the first write holds the writer until every request is answered
        store_free.wait(timeout=30)
        book_all(bookings, engine)

    monkeypatch.setattr(booking, "book_all", slow_store)
    await asyncio.gather(*(served.client.get(f"/api/mock/users/{i}", params={"shape": json.dumps(USER)}) for i in range(16)))
    store_free.set()
    await served.engine.drain()
    execution_inserts = [s for s in inserts if s.startswith("INSERT INTO executions")]
    with session(served.store) as s:
        assert len(s.exec(select(ExecutionRecord).where(ExecutionRecord.kind == "flow")).all()) == 16, "every request is booked"
    assert 1 <= len(execution_inserts) <= 2  # what queued while the store was busy went in one transaction


async def test_a_bookkeeper_writes_nothing_twice_and_restarts_after_close(tmp_path):
    served = Served(tmp_path)
    await served.client.get("/api/mock/a", params={"shape": json.dumps(USER)})
    await served.engine.close()
    await served.client.get("/api/mock/b", params={"shape": json.dumps(USER)})
    await served.engine.close()
    with session(served.store) as s:
        flows = s.exec(select(ExecutionRecord).where(ExecutionRecord.kind == "flow")).all()
    assert sorted(r.workflow for r in flows) == ["mock.a", "mock.b"]


async def test_a_cache_hit_touches_no_store(tmp_path):
    served = Served(tmp_path)
    shape = json.dumps({**USER, "$cache": 3})
    await served.client.get("/api/mock/people", params={"shape": shape})  # makes and saves the variants
    await served.engine.drain()
    seen = statements(served.store)
    hits = [await served.client.get("/api/mock/people", params={"shape": shape}) for _ in range(5)]
    await served.engine.drain()
    assert [h.headers["X-Cache"] for h in hits] == ["hit"] * 5
    assert seen == []


async def test_a_spec_file_edited_while_serving_is_read_again(tmp_path):
    spec_file = tmp_path / "profiles.workflow.yaml"
    shutil.copy(PROJECT / "deployments" / "user_profile.workflow.yaml", spec_file)
    served = Served(tmp_path, workflows_dir=tmp_path)
    shape = json.loads((PROJECT / "deployments" / "user_profile.json").read_text())
    ask = lambda: served.client.post("/api/mock/users", json={"shape": shape}, headers={"X-Workflow": "profiles"})  # noqa: E731
    assert (await ask()).headers["X-Workflow-Version"] == "user-profiles@1.0.0"
    spec_file.write_text(spec_file.read_text().replace("1.0.0", "1.0.10"))
    assert (await ask()).headers["X-Workflow-Version"] == "user-profiles@1.0.10"
    await served.engine.close()


async def test_a_full_queue_makes_the_request_wait_rather_than_drop_its_booking(tmp_path):
    served = Served(tmp_path)
    served.engine.bookkeeper = Bookkeeper(served.store, capacity=1, batch_size=1)
    answers = await asyncio.gather(*(served.client.get(f"/api/mock/q/{i}", params={"shape": json.dumps(USER)}) for i in range(6)))
    await served.engine.close()
    assert all(a.status_code == 200 for a in answers)
    with session(served.store) as s:
        assert len(s.exec(select(ExecutionRecord).where(ExecutionRecord.kind == "flow")).all()) == 6
