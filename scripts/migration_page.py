#!/usr/bin/env python3
"""Regenerates the option table of docs/migration.md from the option inventory.

The inventory (crates/aiperf/tests/it/reference/profile_options.json) lists every `profile`
option of the Python AIPerf with how this tool handles it; `cli_coverage.rs` tests it. This
script writes it as the table between the page's `<!-- options:begin -->` and
`<!-- options:end -->` markers, with this tool's own spelling read from `aiperf profile --help`.

    python3 scripts/migration_page.py --binary target/debug/aiperf
"""

import argparse
import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "crates/aiperf/tests/it/reference/profile_options.json"
PAGE = ROOT / "docs/migration.md"
BEGIN, END = "<!-- options:begin -->", "<!-- options:end -->"


def our_names(binary):
    """Groups of names (long, short, aliases) of each option of `aiperf profile`."""
    text = subprocess.run(
        [binary, "profile", "--help"], capture_output=True, text=True, check=True
    ).stdout
    groups = []
    for block in re.split(r"\n(?=\s{2,6}(?:-[a-zA-Z], )?--[a-z])", text):
        m = re.match(r"\s*(?:-([a-zA-Z]), )?--([a-z0-9-]+)", block)
        if not m:
            continue
        names = ["--" + m.group(2)] + (["-" + m.group(1)] if m.group(1) else [])
        aliases = re.search(r"\[aliases?: ([^\]]*)\]", block)
        if aliases:
            names += [a.strip() for a in aliases.group(1).split(",")]
        groups.append(names)
    return groups


def here(option, groups):
    for names in groups:
        if set(names) & set(option["names"]):
            if names[0] in option["names"]:
                return "same"
            return f"`{names[0]}`"
    return "same"


def what(option):
    if "note" in option:
        return f"accepted, no effect here: {option['note']}"
    if "refusal" in option:
        return f"refused here: {option['refusal']}"
    return option.get("difference", "")


def table(options, groups):
    lines = []
    group = None
    for option in options:
        if option["group"] != group:
            group = option["group"]
            lines += ["", f"### {group}", "", "| Python AIPerf | here | difference |", "|---|---|---|"]
        names = ", ".join(f"`{n}`" for n in option["names"])
        cell = what(option).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {names} | {here(option, groups)} | {cell} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=str(ROOT / "target/debug/aiperf"))
    args = parser.parse_args()
    options = json.loads(INVENTORY.read_text())
    page = PAGE.read_text()
    start, end = page.index(BEGIN) + len(BEGIN), page.index(END)
    page = page[:start] + "\n" + table(options, our_names(args.binary)) + "\n" + page[end:]
    PAGE.write_text(page)


if __name__ == "__main__":
    main()
