"""Scheduled generation jobs: what the nightly deployment produces, read from `deployments/`."""

from __future__ import annotations

import zlib
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from apprentice.errors import ConfigError
from apprentice.userfiles import read_text


class GenerationJob(BaseModel):
    """A dataset to produce on a schedule. Paths are relative to the job file."""

    model_config = {"extra": "forbid"}

    shape: str
    spec: str | None = None
    n: int = Field(20, gt=0)
    batch_size: int | None = Field(None, gt=0, description="default: two batches per parallel lane, 10–500 records")
    concurrency: int = Field(2, gt=0)
    out_dir: str | None = Field(None, description="default: <apprentice home>/out/nightly")

    def resolved(self, base: Path) -> GenerationJob:
        def rel(p: str | None) -> str | None:
            return None if p is None else str((base / p).resolve()) if not Path(p).is_absolute() else p

        return self.model_copy(update={"shape": rel(self.shape), "spec": rel(self.spec), "out_dir": rel(self.out_dir)})


def load_job(path: Path | str) -> GenerationJob:
    path = Path(path)
    text = read_text(path, "job file", ConfigError)
    try:
        return GenerationJob.model_validate(yaml.safe_load(text)).resolved(path.parent)
    except yaml.YAMLError as exc:
        raise ConfigError(f"job file {path} is not valid YAML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(f"job file {path}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def run_seed(run_key: str) -> int:
    """A stable seed per run key (the night's date by default): a rerun of a night resumes it."""
    return zlib.crc32(run_key.encode()) & 0x7FFFFFFF


def default_run_key() -> str:
    return date.today().isoformat()
