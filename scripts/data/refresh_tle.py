#!/usr/bin/env python3
"""Refresh the ISS orbital elements shipped with iss-distance, and their reference values.

What: fetches the ISS's current two-line elements (NORAD 25544) from
CelesTrak's GP endpoint, checks them (three lines, both checksums, the ISS's
catalogue number, an epoch newer than the shipped one), writes
services/iss-distance/data/iss.tle, then reruns
scripts/reference/generate_references.py so the tests' independent reference
values follow the new elements.
Why: offline, every SGP4 position is propagated from the shipped TLE; its
error grows by kilometres a day, and the service, the page and the
IssOrbitalElementsStale alert all say how old it is. Run this whenever the
machine is online.

Run (from the repo root; needs network access to celestrak.org):
  pip install sgp4==2.27 skyfield==1.55 geographiclib==2.1   # for the references
  python3 scripts/data/refresh_tle.py
Then run the tests: the SGP4 reference test holds the service to the new values.
"""
import os
import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TLE = os.path.join(ROOT, "services", "iss-distance", "data", "iss.tle")
GP_URL = "https://celestrak.org/NORAD/elements/gp.php?CATNR=25544&FORMAT=tle"
USER_AGENT = "iss-distance-app/refresh_tle (reference OpenTelemetry stack)"


def checksum_ok(line: str) -> bool:
    digits = sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68])
    return len(line) >= 69 and line[68].isdigit() and digits % 10 == int(line[68])


def epoch(line1: str) -> datetime:
    year, day = int(line1[18:20]), float(line1[20:32])
    year += 2000 if year < 57 else 1900
    return datetime(year, 1, 1, tzinfo=timezone.utc) + timedelta(days=day - 1)


def parse(text: str) -> list:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    if len(lines) != 3 or not lines[1].startswith("1 ") or not lines[2].startswith("2 "):
        sys.exit(f"CelesTrak did not answer with a three-line element set:\n{text[:500]}")
    for line in lines[1:]:
        if not checksum_ok(line):
            sys.exit(f"checksum fails: {line}")
    if lines[1][2:7] != "25544" or lines[2][2:7] != "25544":
        sys.exit(f"not the ISS (NORAD 25544): {lines[1]}")
    return lines


def main() -> None:
    request = urllib.request.Request(GP_URL, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=30) as response:
        fresh = parse(response.read().decode("ascii", errors="replace"))
    with open(TLE, encoding="ascii") as f:
        shipped = parse(f.read())
    if epoch(fresh[1]) <= epoch(shipped[1]):
        print(f"the shipped elements (epoch {epoch(shipped[1]):%Y-%m-%dT%H:%M:%SZ}) are already the newest")
        return
    with open(TLE, "w", encoding="ascii") as f:
        f.write("\n".join(fresh) + "\n")
    print(f"iss.tle: epoch {epoch(shipped[1]):%Y-%m-%d} -> {epoch(fresh[1]):%Y-%m-%dT%H:%M:%SZ}")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "reference", "generate_references.py")], check=True)
    print("update the epoch in services/iss-distance/data/README.md, then run the tests")


if __name__ == "__main__":
    main()
