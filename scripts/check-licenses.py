#!/usr/bin/env python3
"""Checks, offline, that every crate the workspace builds on has a licence we may ship.

Reads `cargo metadata` for the platform we build on (no licence service is
asked: the licence fields come from the crates' own manifests) and evaluates each package's SPDX expression
against the allow-list below: `A OR B` needs one allowed side, `A AND B`
needs both, `X WITH exception` is judged by X. Fails listing every package
whose licence is missing or not allowed.
"""
import json
import re
import subprocess
import sys

ALLOWED = {
    "MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Zlib", "0BSD",
    "Unicode-3.0", "Unicode-DFS-2016", "CC0-1.0", "BSL-1.0", "CDLA-Permissive-2.0", "MPL-2.0",
}


def allowed(expression: str) -> bool:
    """Evaluates an SPDX expression (OR binds looser than AND; parentheses; WITH)."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression.replace("/", " OR "))
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def primary():
        if peek() == "(":
            take()
            value = disjunction()
            if take() != ")":
                raise ValueError(expression)
            return value
        licence = take()
        if peek() == "WITH":
            take()
            take()
        return licence in ALLOWED

    def conjunction():
        value = primary()
        while peek() == "AND":
            take()
            value = primary() and value
        return value

    def disjunction():
        value = conjunction()
        while peek() == "OR":
            take()
            value = conjunction() or value
        return value

    result = disjunction()
    if position != len(tokens):
        raise ValueError(expression)
    return result


def host_triple() -> str:
    rustc = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(line.split(": ", 1)[1] for line in rustc.splitlines() if line.startswith("host: "))


def main() -> int:
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", host_triple()],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    workspace = set(metadata["workspace_members"])
    problems = []
    for package in metadata["packages"]:
        if package["id"] in workspace:
            continue
        licence = package.get("license")
        try:
            ok = licence is not None and allowed(licence)
        except (ValueError, IndexError):
            ok = False
        if not ok:
            problems.append(f'{package["name"]} {package["version"]}: {licence or "no licence field"}')
    if problems:
        print("crates with a licence outside the allow-list:", *problems, sep="\n  ")
        return 1
    print(f"licences ok: {len(metadata['packages']) - len(workspace)} crates, all within the allow-list")
    return 0


def self_check() -> None:
    """The evaluator itself must reject what it should, or a pass means nothing."""
    assert allowed("MIT OR Apache-2.0") and allowed("MIT/Apache-2.0")
    assert allowed("(MIT OR GPL-3.0) AND Apache-2.0 WITH LLVM-exception")
    assert not allowed("GPL-3.0") and not allowed("MIT AND GPL-3.0") and not allowed("AGPL-3.0 OR SSPL-1.0")


if __name__ == "__main__":
    self_check()
    sys.exit(main())
