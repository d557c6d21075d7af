"""The fuzz suite's properties (tests/unit/test_fuzz_*.py), run longer than CI runs them: random
(not derandomized) examples, `--examples` per property. Reports examples run, failures found and
seconds, per property and in total, as one JSON line (also in bench/results/fuzz.json).

    python bench/fuzz.py [--quick] [--examples 2000] [--only shapes]

No model is called: shapes, specs and backend files are checked in-process, model answers come
from fake HTTP transports, and the CLI's only backend is a dead port.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["shapes", "specs", "backends", "cli", "injection"]


def properties(module_names: list[str]):
    """(name, test) for every hypothesis property in the chosen fuzz modules."""
    for short in module_names:
        module = importlib.import_module(f"tests.unit.test_fuzz_{short}")
        for name in sorted(vars(module)):
            test = getattr(module, name)
            if name.startswith("test_") and hasattr(test, "hypothesis"):
                yield f"{short}::{name}", test


def run(name: str, test) -> dict:
    """Run one property to its end, counting the examples hypothesis executes."""
    inner, count = test.hypothesis.inner_test, [0]

    def counted(*args, **kwargs):
        count[0] += 1
        return inner(*args, **kwargs)

    test.hypothesis.inner_test = counted  # hypothesis' documented hook for wrapping the test body
    started = time.perf_counter()
    try:
        test()
        failure = None
    except BaseException as exc:  # noqa: BLE001 - a failing property is a finding, not the bench's end
        failure = "".join(traceback.format_exception_only(type(exc), exc)).strip()[-1500:]
    finally:
        test.hypothesis.inner_test = inner
    return {
        "property": name,
        "examples": count[0],
        "failed": failure is not None,
        "failure": failure,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000, help="examples per property (a shrinking failure adds some)")
    parser.add_argument("--quick", action="store_true", help="100 examples per property")
    parser.add_argument("--only", choices=MODULES, action="append", help="only these fuzz modules")
    args = parser.parse_args()
    examples = 100 if args.quick else args.examples
    os.environ.update(APPRENTICE_FUZZ_EXAMPLES=str(examples), APPRENTICE_FUZZ_RANDOM="1")  # read when tests.unit.fuzzing is imported
    sys.path.insert(0, str(ROOT))
    from bench._report import report

    started, rows = time.perf_counter(), []
    for name, test in properties(args.only or MODULES):
        rows.append(run(name, test))
        print(
            f"{name}: {rows[-1]['examples']} examples, {'FAILED' if rows[-1]['failed'] else 'ok'}, {rows[-1]['seconds']} s",
            file=sys.stderr,
            flush=True,
        )
    report(
        "fuzz",
        {
            "examples_per_property": examples,
            "properties": len(rows),
            "examples_run": sum(r["examples"] for r in rows),
            "failures_found": sum(r["failed"] for r in rows),
            "seconds": round(time.perf_counter() - started, 1),
            "per_property": rows,
        },
    )


if __name__ == "__main__":
    main()
