"""The README's console blocks, run and compared with what they show.

A *console block* is a fenced block whose first line starts with ``$ ``: the command (``\\`` continues
it on the next line), then the output it shows. Each is run in a scratch folder holding copies of
``scenarios/``, ``examples/`` and ``sweeps/`` and an empty ``results/`` (commands that write files
write there, never into the checkout), with ``sim`` from this interpreter's environment, standard
input closed and standard error kept apart (progress lines). Its standard output must match the
block, after both are normalised:

* a line that is only ``…`` or ``...`` stands for any number of lines (rows left out on purpose);
* figures that legitimately vary from run to run are replaced by a placeholder, and this list is
  all of them (:data:`VARYING`): the wall-clock seconds and the customers per wall-clock second of
  a run's closing line, the seconds a precision-driven run reports having spent, and the scratch
  folder's path;
* trailing spaces are ignored.

Everything else — every mean, interval, count, verdict and note — must be what the command prints.

``python -m tests.readme.blocks --update`` (``make readme``) runs every block and writes what it
printed back into README.md, keeping the left-out rows left out (each shown line is matched to the
output line most like it, digits aside). ``--only TEXT`` limits either mode to the blocks whose
command contains TEXT.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
#: folders copied into the scratch folder a block runs in
INPUTS = ("scenarios", "examples", "sweeps")
ELLIPSES = frozenset({"…", "..."})
SCRATCH = "<scratch>"
#: (what varies, pattern, replacement): the only figures a shown output may differ in
VARYING: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("a run's wall-clock seconds", re.compile(r"\b\d[\d,]*(?:\.\d+)? s wall\b"), "<s> s wall"),
    ("customers per wall-clock second", re.compile(r"customers \(\d[\d,]*/s\)"), "customers (<n>/s)"),
    ("seconds a precision-driven run spent", re.compile(r"replications in \d[\d,]* s\b"),
     "replications in <s> s"),
    ("the time a longer run would need", re.compile(r"--max-time \d+m\b"), "--max-time <m>m"),
)


@dataclass(frozen=True)
class Block:
    """One console block: where it is, the command, and the output it shows."""

    start: int  # index of the line after the opening fence
    end: int  # index of the closing fence
    command: str  # continuation lines joined
    command_lines: int  # lines the command takes in the block
    shown: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.command.removeprefix("$ ")[:70]


def console_blocks(lines: Sequence[str]) -> list[Block]:
    """Every fenced block of ``lines`` that opens with a ``$ `` command."""
    blocks: list[Block] = []
    fence: int | None = None
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("```"):
            continue
        if fence is None:
            fence = i
            continue
        body = lines[fence + 1:i]
        if body and body[0].startswith("$ "):
            n = 1
            while body[n - 1].rstrip().endswith("\\"):
                n += 1
            command = " ".join(part.rstrip().removesuffix("\\").strip() for part in body[:n])
            blocks.append(Block(fence + 1, i, command, n, tuple(body[n:])))
        fence = None
    return blocks


def normalise(text: str, scratch: str | None = None) -> list[str]:
    """Lines with the varying figures replaced (:data:`VARYING`) and trailing spaces dropped."""
    if scratch:
        text = text.replace(scratch, SCRATCH)
    for _, pattern, placeholder in VARYING:
        text = pattern.sub(placeholder, text)
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def _pattern(shown: Sequence[str]) -> re.Pattern[str]:
    parts = []
    for line in shown:
        parts.append(r"(?:[^\n]*\n)*?" if line.strip() in ELLIPSES else re.escape(line) + r"\n")
    return re.compile("".join(parts))


def matches(shown: Sequence[str], printed: Sequence[str]) -> bool:
    """Whether the printed lines are the shown ones (both normalised), ``…`` lines standing for any."""
    return _pattern(shown).fullmatch("".join(line + "\n" for line in printed)) is not None


def difference(shown: Sequence[str], printed: Sequence[str]) -> str:
    """A unified diff of the shown and printed lines, for a failure message."""
    return "\n".join(difflib.unified_diff(list(shown), list(printed), "README (normalised)",
                                          "printed (normalised)", lineterm=""))


def scratch_folder() -> Path:
    """A new folder with copies of the inputs the README's commands read, and an empty results/."""
    folder = Path(tempfile.mkdtemp(prefix="readme-"))
    for name in INPUTS:
        shutil.copytree(ROOT / name, folder / name)
    (folder / "results").mkdir()
    return folder


def run_block(block: Block, timeout: float = 900.0) -> tuple[str, str, str]:
    """Run the block's command in a scratch folder: ``(stdout, stderr, scratch path)``."""
    folder = scratch_folder()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "200"
    try:
        done = subprocess.run(["bash", "-c", block.command.removeprefix("$ ")], cwd=folder, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"{block.name}: exit code {done.returncode}\n{done.stderr[-3000:]}")
    return done.stdout, done.stderr, str(folder)


def _key(line: str) -> str:
    return re.sub(r"[\d.,]+", "#", line)


def updated(shown: Sequence[str], printed: Sequence[str]) -> list[str]:
    """The block's new output: the printed lines where the block shows all, and where it leaves rows
    out, the printed line most like each shown one (digits aside), the ``…`` lines kept."""
    if not any(line.strip() in ELLIPSES for line in shown):
        return list(printed)
    out: list[str] = []
    at = 0
    loose = False  # after an ellipsis: the next shown line may be further down
    for line in shown:
        if line.strip() in ELLIPSES:
            out.append(line)
            loose = True
            continue
        if loose:
            rest = [_key(p) for p in printed[at:]]
            ratios = [difflib.SequenceMatcher(None, _key(line), r).ratio() for r in rest]
            if not ratios:
                raise ValueError(f"no printed line left for the shown line {line!r}")
            at += max(range(len(ratios)), key=ratios.__getitem__)
        if at >= len(printed):
            raise ValueError(f"no printed line left for the shown line {line!r}")
        out.append(printed[at])
        at += 1
        loose = False
    if not loose:  # the block shows its output to the end: so must the update
        out += printed[at:]
    return out


def selected(blocks: Sequence[Block], only: Sequence[str]) -> Iterator[Block]:
    return (b for b in blocks if not only or any(text in b.command for text in only))


def update(only: Sequence[str] = ()) -> int:
    """Run the blocks and write what they printed into README.md; the number of blocks changed."""
    lines = README.read_text(encoding="utf-8").split("\n")
    changed = 0
    for block in reversed(console_blocks(lines)):  # from the end: earlier line numbers stay valid
        if not any(True for _ in selected([block], only)):
            continue
        stdout, _, scratch = run_block(block)
        printed = [p.replace(scratch, SCRATCH) for p in stdout.rstrip("\n").split("\n")]
        new = updated(block.shown, printed)
        if list(block.shown) != new:
            changed += 1
            lines[block.start + block.command_lines:block.end] = new
        print(f"{'changed' if list(block.shown) != new else 'same   '}  {block.name}", flush=True)
    README.write_text("\n".join(lines), encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update", action="store_true", help="write the printed output into README.md")
    parser.add_argument("--only", action="append", default=[], help="blocks whose command contains TEXT")
    args = parser.parse_args(argv)
    if args.update:
        print(f"{update(args.only)} block(s) changed")
        return 0
    failed = 0
    for block in selected(console_blocks(README.read_text(encoding="utf-8").split("\n")), args.only):
        stdout, _, scratch = run_block(block)
        printed = normalise(stdout, scratch)
        ok = matches(normalise("\n".join(block.shown)), printed)
        failed += not ok
        print(f"{'ok  ' if ok else 'DIFF'}  {block.name}", flush=True)
        if not ok:
            print(difference(normalise("\n".join(block.shown)), printed))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
