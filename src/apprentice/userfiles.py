"""Reading a file a user names (shape, workflow spec, backend file, job file): its text, or one
line saying why not — missing, a directory, unreadable, or not UTF-8 — instead of a traceback."""

from __future__ import annotations

from pathlib import Path

from apprentice.errors import ApprenticeError


def read_text(path: Path, what: str, error: type[ApprenticeError]) -> str:
    """The file's text (UTF-8, a byte-order mark allowed); `error` names `what` it is otherwise."""
    if not path.exists():
        raise error(f"{what} {path} does not exist")
    if not path.is_file():
        raise error(f"{what} {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {path} is not UTF-8 text: byte {data[exc.start]:#04x} at offset {exc.start}") from None
