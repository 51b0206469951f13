"""``odibi validate`` on mutants of real projects: it answers 0 or 2 quickly, never with a
traceback or an "unexpected" error, and writes nothing.

The projects are the examples' and the YAML of a few tests; the mutations delete, rename,
duplicate and retype keys and values, and add unicode, huge strings, deep nesting and aliases.
Seeded, so a failure repeats: ``ODIBI_FUZZ_SEED`` and ``ODIBI_FUZZ_COUNT`` run other or more
mutants (the message of a failure holds its seed and mutations).
"""

from __future__ import annotations

import ast
import copy
import os
import random
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from odibi_core.testing.project import OdibiProject

REPO = Path(__file__).resolve().parents[2]
#: Test modules whose project texts (module-level strings that are projects) are seeds.
SEED_MODULES = (
    "tests/core/test_cli_validate.py",
    "tests/quality/test_quality_gate.py",
    "tests/e2e/test_graph.py",
    "tests/e2e/test_run_project.py",
    "tests/e2e/test_stories.py",
    "tests/telemetry/conftest.py",
)
# Quality in every spelling, incremental reads and the other blocks the seeds above lack.
RICH = """
project: rich
engine: pandas
vars: {env: dev, rows: 5}
retry: {max_attempts: 2, backoff: linear, backoff_seconds: 0}
connections:
  raw: {type: local, base_path: ./data}
  lake: {type: local, base_path: ./lake}
story: {connection: lake, path: stories, max_sample_rows: 5, retention_days: 7}
system: {connection: lake, path: _system, maintenance: {max_files: 8}}
environments:
  prod: {story: {retention_days: 30}}
pipelines:
  - pipeline: orders
    layer: silver
    nodes:
      - name: orders_raw
        read:
          connection: raw
          format: csv
          path: orders.csv
          options: {sep: ",", dtype: {zip: str}}
          incremental: {mode: stateful, column: updated_at, watermark_lag: 2h}
        columns: {email: {pii: true}}
      - name: orders_silver
        depends_on: [orders_raw]
        transform:
          steps:
            - SELECT * FROM orders_raw WHERE amount > 0
            - {operation: drop_duplicates, params: {subset: [order_id]}}
            - {function: limit, params: {n: "${vars.rows}"}}
        quality:
          on_error: warn
          assertions:
            - {type: not_null, columns: [order_id, amount]}
            - {type: between, column: amount, min: 0, max: 10000, mostly: 0.99}
            - {type: accepted_values, column: status, values: [completed, pending]}
            - {type: regex, column: email, pattern: "^[^@]+@[^@]+$", severity: quarantine}
            - {type: expect, expectation: expect_column_values_to_not_be_null,
               kwargs: {column: zip}}
          quarantine: {connection: lake, path: quarantine}
          gate: {require_pass_rate: 0.9, thresholds: [{test: not_null, min_pass_rate: 1}]}
        write: {connection: lake, format: delta, path: silver/orders, mode: upsert,
                options: {keys: [order_id]}}
      - name: orders_odibi
        depends_on: orders_silver
        contracts:
          - {type: row_count, min: 1, on_fail: warn}
        validation:
          mode: warn
          tests:
            - {type: unique, columns: [order_id], on_fail: fail}
            - {type: range, column: amount, min: 0}
        write: {connection: lake, format: parquet, path: gold/orders, partition_by: [status]}
"""


def _seeds() -> list[tuple[str, Any]]:
    texts = [("RICH", RICH)]
    for path in sorted((REPO / "examples").rglob("*.yaml")):
        texts.append((str(path.relative_to(REPO)), path.read_text(encoding="utf-8")))
    for rel in SEED_MODULES:
        tree = ast.parse((REPO / rel).read_text(encoding="utf-8"))
        for node in tree.body:
            value = getattr(node, "value", None)
            text = value.value if isinstance(value, ast.Constant) else None
            if isinstance(node, ast.Assign) and isinstance(text, str) and "pipelines:" in text:
                name = f"{rel}:{getattr(node.targets[0], 'id', '?')}"
                texts.append((name, textwrap.dedent(text)))
    seeds = []
    for name, text in texts:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue  # a template ("{{...}}"), not a project
        if isinstance(data, dict) and "project" in data:
            seeds.append((name, data))
    return seeds


# ---------------------------------------------------------------- mutations


def _slots(data: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``data``: the places a mutation can change."""
    found: list[tuple[Any, Any]] = []
    stack = [data]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            found.append((node, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return found


UNICODE = ["naïve", "日本語", "🙂", "\u202eevil", "zero\u200bwidth", "e\u0301", "\u00a0", "Ω≈ç√"]
VALUES: list[Any] = [
    0, -1, 1, 7, 1.5, -0.0, 10**30, -(10**18), float("inf"), float("nan"), True, False, None,
    "", " ", "x", "1.5", "null", "~", "../../../up", "/abs/path", "a/b", "*", "${ODIBI_FUZZ_UNSET}",
    "${vars.nope}", "${date:bogus}", "${", "nul\x00byte", "a" * 300, [], {}, [1, [2, [3]]],
    {"a": {"b": None}}, [None], [{}], {"type": 5}, ["x"] * 50, [{"type": "not_null"}],
]  # fmt: skip
#: Keys a project or node may have, added where they do not belong as well as where they do.
KEYS = (
    "imports", "environments", "vars", "system", "story", "retry", "engine", "pipelines",
    "nodes", "quality", "validation", "contracts", "assertions", "gate", "quarantine", "tests",
    "read", "write", "transform", "steps", "depends_on", "options", "incremental", "columns",
)  # fmt: skip


def _text_value(rng: random.Random) -> Any:
    kind = rng.randrange(3)
    if kind == 0:
        return "".join(rng.choice(UNICODE) for _ in range(rng.randint(1, 4)))
    if kind == 1:
        return rng.choice("xé🙂;'\"") * rng.choice([1_000, 20_000, 150_000])
    return rng.choice(VALUES)


def _nested(rng: random.Random) -> Any:
    value: Any = rng.choice(["leaf", 1, None])
    for _ in range(rng.choice([5, 40, 99, 150])):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


def _typo(rng: random.Random, word: str) -> str:
    if not word or rng.random() < 0.2:
        return rng.choice(["", " ", "1", "null", "true", "x" * 500, *UNICODE])
    i = rng.randrange(len(word))
    how = rng.randrange(3)
    if how == 0:
        return word[:i] + word[i + 1 :]
    if how == 1:
        return word[:i] + rng.choice("abcxyz_-.") + word[i:]
    return word.upper() if rng.random() < 0.5 else word[::-1]


def _mutate_data(rng: random.Random, data: Any, notes: list[str]) -> None:
    slots = _slots(data)
    if not slots:
        return
    container, key = rng.choice(slots)
    kind = rng.choice(["delete", "rename", "retype", "retype", "text", "nest", "add"])
    if isinstance(container, list) and kind in ("rename", "add"):
        kind = "retype"
    notes.append(f"{kind} {key!r}")
    if kind == "delete":
        del container[key]
    elif kind == "rename":
        value = container.pop(key)
        container[_typo(rng, str(key))] = value
    elif kind == "retype":
        container[key] = copy.deepcopy(rng.choice(VALUES))
    elif kind == "text":
        container[key] = _text_value(rng)
    elif kind == "add":
        container[rng.choice(KEYS)] = copy.deepcopy(rng.choice(VALUES))
    else:
        container[key] = _nested(rng)


DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
BOMB = (
    "[&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol], "
    + ", ".join(f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9))
    + "]"
)


def _mutate_text(rng: random.Random, text: str, notes: list[str]) -> str:
    """Mutations YAML data cannot express: duplicate keys, anchors and aliases."""
    lines = text.splitlines()
    keyed = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith("#")]
    if not keyed:
        return text
    i = rng.choice(keyed)
    head, _, tail = lines[i].partition(":")
    kind = rng.choice(["duplicate", "anchor", "self", "bomb", "merge"])
    notes.append(f"{kind} line {i + 1}")
    if kind == "duplicate":
        lines.insert(i + 1, lines[i])
    elif kind == "anchor" and tail.strip():
        j = rng.choice(keyed)
        lines[i] = f"{head}: &fz {tail.strip()}"
        other_head = lines[j].partition(":")[0]
        lines[j] = f"{other_head}: *fz"
    elif kind == "self":
        lines[i] = f"{head}: &fz [*fz]"
    elif kind == "bomb":
        lines[i] = f"{head}: {BOMB}"
    else:
        lines[i] = f"{head}: {{<<: *nope}}" if rng.random() < 0.3 else f"{head}: &m {{<<: *m}}"
    return "\n".join(lines) + "\n"


def mutants(seed: int, count: int) -> Iterator[tuple[str, str]]:
    """``count`` (description, project text) pairs."""
    rng = random.Random(seed)
    seeds = _seeds()
    for n in range(count):
        name, data = rng.choice(seeds)
        data = copy.deepcopy(data)
        notes: list[str] = []
        for _ in range(rng.randint(1, 3)):
            _mutate_data(rng, data, notes)
        text = yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True, width=1000)
        if rng.random() < 0.3:
            text = _mutate_text(rng, text, notes)
        yield f"mutant {n} of {name}: {'; '.join(notes)}", text


# ---------------------------------------------------------------- the test


def _snapshot(root: Path) -> dict[str, tuple[int, int] | None]:
    """Every file (size, mtime) and folder under ``root``, but the project file itself."""
    return {
        str(p.relative_to(root)): None if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.name != "odibi.yaml"
    }


SEED = int(os.environ.get("ODIBI_FUZZ_SEED", "20261202"))
COUNT = int(os.environ.get("ODIBI_FUZZ_COUNT", "300"))
#: Seconds one validate may take (most take a few milliseconds; an alias bomb stops in < 1 s).
LIMIT = 5.0


def test_validate_survives_mutants(odibi_project: Callable[..., OdibiProject]) -> None:
    project = odibi_project({"data/orders.csv": "order_id,amount\n1,2\n"})
    before = _snapshot(project.root.parent)
    codes = {0: 0, 2: 0}
    for what, text in mutants(SEED, COUNT):
        project.write({"odibi.yaml": text})
        started = time.perf_counter()
        run = project.odibi("validate", "{config}")
        took = time.perf_counter() - started
        where = f"seed {SEED}, {what}\n--- output:\n{run.output[:2000]}\n--- text:\n{text[:3000]}"
        assert run.exit_code in codes, where
        assert "Traceback" not in run.output, where
        assert "error: unexpected" not in run.output, where  # the CLI's words for a bug
        assert took < LIMIT, f"{took:.1f} s: {where}"
        assert _snapshot(project.root.parent) == before, f"something was written: {where}"
        codes[run.exit_code] += 1
    assert codes[2] > COUNT // 2  # mutants are mostly wrong: the test is not validating nothing


@pytest.mark.parametrize("seed", range(3))
def test_mutants_are_reproducible(seed: int) -> None:
    assert list(mutants(seed, 5)) == list(mutants(seed, 5))
