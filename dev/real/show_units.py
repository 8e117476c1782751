"""Print labelling units with their text, for a labeller: ``python dev/real/show_units.py R02``
(a document prefix; several allowed). ``--extra DIR UNITS`` reads units of documents kept outside
shared/realplans."""

from __future__ import annotations

import sys
from pathlib import Path

from align.evaluate_real import load_units


def main() -> None:
    args = sys.argv[1:]
    root = units = None
    if args[:1] == ["--extra"]:
        root, units, args = Path(args[1]), Path(args[2]), args[3:]
    for u in load_units(root, units_file=units) if units else load_units(root):
        if not args or any(u.id.startswith(a) for a in args):
            print(f"### {u.id}  [{u.heading}]\n{u.text}\n")


if __name__ == "__main__":
    main()
