"""Where the desk's CPU goes while fans chat: a py-spy profile of each process under load.

Starts the desk as `make run` does (tests/support/stack.py), warms it, then runs the
closed loop of bench/chat.py (the same five-message conversation) at `--fans` for
`--seconds` while `py-spy record` samples the gateway, the Rasa server and the action
server. For each process it writes the raw folded stacks and a summary: CPU per
message (from /proc) and the functions with the largest share of samples, inclusive
("in") and where the time is spent itself ("self"). docs/performance.md quotes them.

    .venv/bin/python bench/profile.py [--fans 10] [--seconds 30] [--output DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chat import _role, _tree, closed_loop, desk_side  # noqa: E402
from tests.support.stack import running_desk  # noqa: E402

PY_SPY = Path(sys.executable).parent / "py-spy"
RESULTS = ROOT / "bench" / "results" / "profile"


def _frame(frame: str) -> str:
    """`function (path/to/module.py:123)` as `module.function`, short and stable."""
    name, _, where = frame.partition(" (")
    path = where.split(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    module = path.removesuffix(".py").replace("/", ".")
    return f"{module}.{name}" if module else name


def summarise(folded: Path, top: int) -> dict[str, object]:
    """Shares of samples per function from py-spy's raw (folded) output."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")[1:]]  # the first is the thread
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {"samples": total, "inclusive_pct": shares(inclusive), "self_pct": shares(own)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fans", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args()
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, running_desk(Path(tmp)) as stack:
        desk = desk_side(stack)
        asyncio.run(closed_loop(desk, 2, 5))  # warm
        roles = {role: pid for pid in _tree(desk.root_pid) if (role := _role(pid))}
        recorders = {
            role: subprocess.Popen(
                [
                    str(PY_SPY),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--rate",
                    str(args.rate),
                    "--duration",
                    str(int(args.seconds) + 2),
                    "--output",
                    str(output / f"{role}.folded"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for role, pid in roles.items()
        }
        run = asyncio.run(closed_loop(desk, args.fans, args.seconds))
        for recorder in recorders.values():
            recorder.wait(60)
    report: dict[str, object] = {"fans": args.fans, "seconds": args.seconds, "run": run}
    for role in sorted(roles):
        report[role] = summarise(output / f"{role}.folded", args.top)
    (output / "profile.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(run))
    for role in sorted(roles):
        summary = report[role]
        assert isinstance(summary, dict)
        print(f"\n== {role}: {summary['samples']} samples")
        for name, pct in summary["inclusive_pct"][:25]:
            print(f"  {pct:5.1f}%  {name}")


if __name__ == "__main__":
    main()
