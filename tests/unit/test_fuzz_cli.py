"""The CLI fuzzed: `apprentice generate / plan / backends` with fuzzed shape, spec and backend
files and fuzzed arguments. Every invocation works (exit 0) or fails with exit code 2 and one
`error:` line (a Typer usage error: its usage box, no traceback), and `generate` — whose only
backend is a dead port, so no model is reached — never leaves an output file behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

import apprentice.orchestration.dataset  # noqa: F401 - imported now, not inside the first example's hang bound (Prefect takes seconds)
from apprentice.cli import app
from tests.unit.fuzzing import (
    BACKENDS,
    DEAD_URL,
    FUZZ,
    JSON_DOCS,
    ROOT_SCHEMAS,
    SPECS,
    VALID_BACKEND,
    VALID_SPEC,
    json_text,
    no_secret_blocks,
    toml_backends,
)

runner = CliRunner()

FILES = {
    "shape.json": st.one_of(JSON_DOCS, ROOT_SCHEMAS, st.just({"city": "string", "population": 0})).map(lambda d: json_text(d).encode())
    | st.binary(max_size=40),
    "shape.schema.json": ROOT_SCHEMAS.map(lambda d: json_text(d).encode()),
    "spec.yaml": st.one_of(SPECS, st.just(VALID_SPEC)).map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    "backends.toml": st.one_of(BACKENDS, st.just([VALID_BACKEND])).map(lambda b: toml_backends(b).encode()),
}
FILE = st.sampled_from(["shape.json", "shape.schema.json", "spec.yaml", "backends.toml", "missing.json", ".", "out"])
VALUE = st.sampled_from(["0", "-1", "1", "3", "abc", "", "1e9", "99999999999999999999", "--", "-", "\u0000x"]) | FILE | st.text(max_size=8)
OPTIONS = [
    "-n",
    "--count",
    "--out",
    "-o",
    "--spec",
    "--batch-size",
    "--concurrency",
    "--seed",
    "--backends",
    "--fresh",
    "--file",
    "--bogus",
]
ARG = st.one_of(st.sampled_from(OPTIONS), VALUE)
COMMANDS = st.sampled_from(["generate", "plan", "backends"])


def command_line(command: str, args: list[str], home: Path) -> list[str]:
    """Relative file names point into the example's directory; the backends file is always given,
    so the embedded default (the real model) is never used."""
    resolved = [
        str(home / a) if a in {"shape.json", "shape.schema.json", "spec.yaml", "backends.toml", "missing.json", "out"} else a for a in args
    ]
    if command == "backends":
        return [command, "--file", str(home / "backends.toml"), *resolved]
    return [command, *resolved]


def invoke(argv: list[str], home: Path):
    env = {"APPRENTICE_HOME": str(home / "home"), "APPRENTICE_BACKENDS_FILE": str(home / "backends.toml"), "COLUMNS": "200"}
    with no_secret_blocks():
        return runner.invoke(app, argv, env=env)


def assert_clear_failure_or_success(result, command: str) -> None:
    output = (result.stderr or "") + (result.stdout or "")
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {output[-2000:]!r} {result.exception!r}"
    assert "Traceback" not in output, output[-3000:]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code == 2 and not any(
        mark in output for mark in ("Usage:", "─ Error ─")
    ):  # apprentice's own refusal, not Typer's usage box
        lines = [line for line in (result.stderr or "").splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), f"not one line: {result.stderr!r}"
    if command == "generate":
        assert result.exit_code == 2, "no backend is reachable, so no generate can succeed"


@FUZZ
@given(COMMANDS, st.fixed_dictionaries(FILES), st.lists(ARG, max_size=6), st.sampled_from([["shape.json"], ["shape.schema.json"], []]))
@example(
    "generate",
    {
        "shape.json": b'{"city": "string"}',
        "shape.schema.json": b"{}",
        "spec.yaml": yaml.safe_dump(VALID_SPEC).encode(),
        "backends.toml": toml_backends([VALID_BACKEND]).encode(),
    },
    ["--out", "out", "-n", "2"],
    ["shape.json"],
)
@example(
    "plan",
    {"shape.json": b'{"name": "string", "email": "email"}', "shape.schema.json": b"{}", "spec.yaml": b"name: [", "backends.toml": b""},
    ["--spec", "spec.yaml"],
    ["shape.json"],
)
def test_every_command_line_works_or_fails_clearly(command, files, args, shape):
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for name, content in files.items():
            (home / name).write_bytes(content)
        (home / "home").mkdir()
        argv = command_line(command, [*shape, *args] if command != "backends" else args, home)
        out = [home / "out", home / "out.jsonl", home / "home" / "out"]
        result = invoke(argv + (["--out", str(home / "out.jsonl")] if command == "generate" else []), home)
        assert_clear_failure_or_success(result, command)
        assert not any(p.exists() and (p.is_file() or any(p.iterdir())) for p in out), "generate left an output behind"
        assert not list(home.glob("*.meta.jsonl")) and not list(home.glob("*.rejects.jsonl"))


def test_a_dead_backend_is_refused_before_anything_is_written(tmp_path):
    """The dead-backend path the property relies on: refused in one line, exit 2, no file."""
    (tmp_path / "shape.json").write_text('{"city": "string"}')
    (tmp_path / "backends.toml").write_text(toml_backends([VALID_BACKEND]))
    (tmp_path / "home").mkdir()
    result = invoke(["generate", str(tmp_path / "shape.json"), "--out", str(tmp_path / "out.jsonl")], tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: no backend is reachable: 'remote' at {DEAD_URL}"
    assert not (tmp_path / "out.jsonl").exists()
