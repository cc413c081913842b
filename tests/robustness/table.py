"""Print, check or write the Reliability table of docs/reliability.md from the robustness case list.

    python tests/robustness/table.py            # print the table
    python tests/robustness/table.py --write    # replace the table in docs/reliability.md
The test in test_table.py fails when docs/reliability.md and the case list disagree.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
START, END = "<!-- reliability-table:start -->", "<!-- reliability-table:end -->"
PAGE = ROOT / "docs" / "reliability.md"


def load_cases():
    """Import every test module of this folder (which registers its cases); returns the list."""
    sys.path[:0] = [str(HERE.parent), str(ROOT)]
    from robustness import registry

    for module in sorted(HERE.glob("test_*.py")):
        importlib.import_module(f"robustness.{module.stem}")
    return registry.CASES, registry.AREAS


def markdown() -> str:
    cases, areas = load_cases()
    lines = ["| area | what we tried | what the user sees |", "|---|---|---|"]
    for area in areas:
        for c in (c for c in cases if c.area == area):
            lines.append(f"| {area} | {c.tried} | {c.sees} |")
    return "\n".join(lines)


def readme_with_table(readme: str) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{markdown()}\n{END}{after}"


if __name__ == "__main__":
    if "--write" in sys.argv:
        path = PAGE
        path.write_text(readme_with_table(path.read_text()))
        print(f"wrote the Reliability table into {path}")
    else:
        print(markdown())
