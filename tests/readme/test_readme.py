"""Every console block of the README shows what its command prints today (see tests/readme/blocks.py
for what may vary); a hand-edited output is caught."""

from __future__ import annotations

import re

import pytest

from tests.readme.blocks import (
    README,
    console_blocks,
    matches,
    normalise,
    run_block,
    updated,
)

BLOCKS = console_blocks(README.read_text(encoding="utf-8").split("\n"))
#: blocks that finish in a few seconds: run in the quick loop too
FAST = ("sim fit ",)


def _params():
    for block in BLOCKS:
        fast = any(block.command.startswith("$ " + f) for f in FAST)
        yield pytest.param(block, id=block.name, marks=() if fast else pytest.mark.slow)


def _check(block) -> None:
    stdout, _, scratch = run_block(block)
    shown = normalise("\n".join(block.shown))
    printed = normalise(stdout, scratch)
    if not matches(shown, printed):
        import difflib

        diff = "\n".join(difflib.unified_diff(shown, printed, "README", "printed", lineterm=""))
        pytest.fail(f"README block `{block.name}` differs from what it prints "
                    f"(regenerate with `make readme`):\n{diff}")


@pytest.mark.parametrize("block", list(_params()))
def test_readme_block_prints_what_it_shows(block) -> None:
    _check(block)


def test_the_readme_has_console_blocks() -> None:
    commands = [b.command for b in BLOCKS]
    assert any(c.startswith("$ sim run --redundancy 2") for c in commands)
    assert len(BLOCKS) >= 8


def test_a_hand_edited_output_fails() -> None:
    """Change one shown figure of a real block (the fit of the shipped incident log) by hand: the
    check must see it; the block as written must pass."""
    block = next(b for b in BLOCKS if b.command.startswith("$ sim fit "))
    stdout, _, scratch = run_block(block)
    printed = normalise(stdout, scratch)
    shown = normalise("\n".join(block.shown))
    assert matches(shown, printed)
    edited = list(shown)
    row = next(i for i, line in enumerate(edited) if re.search(r"\d\.\d", line))
    edited[row] = re.sub(r"(\d)\.(\d)", lambda m: f"{m[1]}.{(int(m[2]) + 1) % 10}", edited[row], count=1)
    assert edited != shown
    assert not matches(edited, printed)
    assert not matches([*shown, "an extra line"], printed)
    assert not matches(shown[1:], printed)


def test_ellipsis_stands_for_any_lines_and_only_there() -> None:
    printed = ["head", "a 1", "b 2", "c 3", "tail"]
    assert matches(["head", "…", "tail"], printed)
    assert matches(["head", "...", "b 2", "…", "tail"], printed)
    assert matches(["…", "c 3", "tail"], printed)
    assert not matches(["head", "…", "b 9", "…", "tail"], printed)
    assert not matches(["head", "a 1", "tail"], printed)


def test_only_the_listed_figures_vary() -> None:
    run_line = ("10 replications, seed 1, 2 worker(s), method rare: 5.1 s wall, 1,017,173 customers "
                "(200,475/s)")
    other = run_line.replace("5.1 s", "17.3 s").replace("200,475", "58,801")
    assert normalise(run_line) == normalise(other)
    assert normalise(run_line) != normalise(run_line.replace("1,017,173", "1,017,174"))
    assert normalise("/tmp/readme-x/results/a.json", "/tmp/readme-x") == ["<scratch>/results/a.json"]


def test_update_keeps_left_out_rows_left_out() -> None:
    shown = ["head", "…", "lost_checkouts   1,606  [1,590, 1,623]", "…", "tail 5.1 s"]
    printed = ["head", "x 1", "lost_checkouts   1,700  [1,650, 1,750]", "availability 99%", "tail 6.0 s"]
    assert updated(shown, printed) == ["head", "…", "lost_checkouts   1,700  [1,650, 1,750]", "…",
                                       "tail 6.0 s"]
    assert updated(["a", "b"], ["a", "c", "d"]) == ["a", "c", "d"]
    # shown to its end: printed lines past the last shown one are added, not dropped
    assert updated(["…", "b 1"], ["a", "b 2", "c"]) == ["…", "b 2", "c"]
