"""Benchmark: parse and match a 20,000-row Consolidated Screening List against 10,000 companies.

Generates both sides deterministically (fixed seed, invented names, synthetic but
checksum-valid ISINs and LEIs) into a temporary directory, then times

- parsing alone (streamed, as the importer reads an upload),
- building the matcher from the companies,
- parsing and matching together (the import minus the database),

and measures peak Python memory with tracemalloc in a separate run, since tracing slows the
interpreter. Run from the repository root:

    python bench/bench_screening_match.py [--rows 20000] [--companies 10000]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from stdnum import isin as stdnum_isin
from stdnum.iso7064 import mod_97_10

from hrdd.screening.matching import CompanyCandidate, Matcher, MatchOutcome, normalise_name
from hrdd.screening.parsers import CSL_COLUMNS, ScreeningReader

SEED = 20240226
TARGET_SECONDS = 10.0


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES = words(
    "Anderson Nakamura Schmidt Rossi Kowalski Haddad Okafor Petrov Zhang Dubois Silva "
    "Johansson Novak Yilmaz Fernandes Kim Tanaka Moreau Fischer Horvat Ivanova Mensah Gupta "
    "Larsen Costa Becker Romano Nguyen Ali Hassan Chen Wagner Jensen Santos Popescu Weber"
)
GIVEN_NAMES = words(
    "Anna Omar Li Maria Ivan Sofia Ahmed Yuki Carlos Fatima Pierre Elena Tomasz Amara Noah "
    "Hana Mehmet Lucas Aisha Dmitri Chloe Kwame Priya Jonas Ines Mateo Leila Viktor Zara"
)
PLACES = words(
    "Northern Pacific Atlas Golden Silver Harbor Summit Crescent Meridian Orion Sterling "
    "Evergreen Baltic Andes Sahara Danube Aurora Cedar Falcon Granite Horizon Lotus Nordic "
    "Oriental Phoenix Quantum Redwood Sapphire Titan Vertex Zenith Coral Delta Emerald Ionic"
)
SECTORS = words(
    "Logistics Trading Energy Pharma Systems Electronics Shipping Capital Industries Mining "
    "Telecom Software Foods Textiles Engineering Aerospace Chemicals Semiconductor Networks "
    "Security Petroleum Metals Machinery Optics Robotics Analytics Media Finance Motors"
)
LEGAL_FORMS = (
    "Ltd",
    "Limited",
    "Inc.",
    "Corp.",
    "GmbH",
    "S.A.",
    "AG",
    "plc",
    "LLC",
    "Co., Ltd.",
    "B.V.",
    "N.V.",
    "S.p.A.",
    "AB",
    "JSC",
    "FZE",
    "Pte. Ltd.",
    "Sdn. Bhd.",
)
# 80 consonant-vowel syllables (and a final consonant now and then) for coined brand names.
SYLLABLES = tuple(consonant + vowel for consonant in "bdfgklmnprstvzch" for vowel in "aeiou")
FINALS = ("", "", "", "n", "r", "x", "s", "l")
LISTS = (
    ("Entity List (EL) - Bureau of Industry and Security", 0.35),
    ("Specially Designated Nationals (SDN) - Treasury Department", 0.40),
    ("Denied Persons List (DPL) - Bureau of Industry and Security", 0.05),
    ("Military End User (MEU) List - Bureau of Industry and Security", 0.05),
    ("Sectoral Sanctions Identifications List (SSI) - Treasury Department", 0.10),
    ("Nonproliferation Sanctions (ISN) - State Department", 0.05),
)
COUNTRIES = words("CN RU IR KP AE TR HK SG DE GB US IL GR IE MK HU CA IN BY SY")


def coined_word(rng: random.Random) -> str:
    syllables = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    return (syllables + rng.choice(FINALS)).capitalize()


def company_like_name(rng: random.Random) -> str:
    # Mostly coined words (some ten thousand of them), so that, as in real lists, most
    # listed names resemble no company at all.
    core = [coined_word(rng) if rng.random() < 0.95 else rng.choice(PLACES + SURNAMES)]
    if rng.random() < 0.5:
        core.append(coined_word(rng) if rng.random() < 0.7 else rng.choice(SURNAMES))
    core.extend(rng.sample(SECTORS, rng.choice((0, 1, 1, 2))))
    return f"{' '.join(core)} {rng.choice(LEGAL_FORMS)}"


def without_legal_form(name: str) -> str:
    for form in LEGAL_FORMS:
        if name.endswith(f" {form}"):
            return name.removesuffix(f" {form}")
    return name


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES).upper()}, {rng.choice(GIVEN_NAMES)}"


def synthetic_isin(rng: random.Random) -> str:
    body = rng.choice(("XS", "DE", "US", "GB")) + "".join(rng.choices("0123456789", k=9))
    return body + stdnum_isin.calc_check_digit(body)


def synthetic_lei(rng: random.Random) -> str:
    body = "BNCH" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=14))
    return body + mod_97_10.calc_check_digits(body)


def typo(rng: random.Random, name: str) -> str:
    """One changed letter in the first word: a near name for the review queue."""
    first, _, rest = name.partition(" ")
    if len(first) < 6:
        return name
    position = rng.randrange(1, len(first) - 1)
    changed = first[:position] + rng.choice("aeiouy") + first[position + 1 :]
    return f"{changed} {rest}".strip()


def make_companies(count: int, rng: random.Random) -> list[CompanyCandidate]:
    """Companies whose names differ after normalisation, as a real universe's mostly do."""
    companies = []
    seen: set[str] = set()
    while len(companies) < count:
        names = [company_like_name(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        keys = {normalise_name(name) for name in names}
        if len(keys) < len(names) or keys & seen:
            continue
        seen |= keys
        companies.append(
            CompanyCandidate(
                company_id=len(companies) + 1,
                names=tuple(names),
                isins=frozenset({synthetic_isin(rng)} if rng.random() < 0.35 else set()),
                leis=frozenset({synthetic_lei(rng)} if rng.random() < 0.25 else set()),
            )
        )
    return companies


def csl_row(rng: random.Random, index: int, companies: list[CompanyCandidate]) -> list[str]:
    source = rng.choices([name for name, _ in LISTS], [weight for _, weight in LISTS])[0]
    is_bis = "Bureau of Industry and Security" in source
    roll = rng.random()
    ids = ""
    if roll < 0.25:
        entity_type, name = "Individual", person_name(rng)
    elif roll < 0.30:
        entity_type, name = (
            rng.choice(("Vessel", "Aircraft")),
            f"{coined_word(rng).upper()} {index}",
        )
    else:
        entity_type = "" if is_bis else "Entity"
        company = rng.choice(companies)
        pick = rng.random()
        if pick < 0.03:  # the same company under another legal form: automatic match
            name = f"{without_legal_form(company.names[0])} {rng.choice(LEGAL_FORMS)}"
        elif pick < 0.05:  # a near name: review
            name = typo(rng, company.names[0])
        elif pick < 0.06 and company.isins:  # listed with its ISIN
            name = company_like_name(rng)
            ids = f"ISIN, {next(iter(company.isins))}"
        else:
            name = company_like_name(rng)
    if entity_type == "Individual" and is_bis:
        entity_type = ""
    aliases = "; ".join(company_like_name(rng) for _ in range(rng.choice((0, 0, 1, 2))))
    address = f"{rng.randint(1, 300)} {rng.choice(PLACES)} Road, {coined_word(rng)}"
    country = rng.choice(COUNTRIES)
    start = f"{rng.randint(2001, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    values = {
        "_id": hashlib.sha224(f"bench-{index}".encode()).hexdigest(),
        "source": source,
        "entity_number": "" if is_bis else str(10000 + index),
        "type": entity_type,
        "programs": "" if is_bis else rng.choice(("SDGT", "NPWMD", "IRAN", "RUSSIA-EO14024")),
        "name": name,
        "addresses": f"{address}, {country}",
        "federal_register_notice": f"{rng.randint(80, 89)} FR {rng.randint(1000, 99999)}"
        if is_bis
        else "",
        "start_date": start,
        "license_requirement": "For all items subject to the EAR." if is_bis else "",
        "license_policy": "Presumption of denial." if is_bis else "",
        "source_list_url": "https://www.bis.doc.gov/" if is_bis else "https://ofac.treasury.gov/",
        "alt_names": aliases,
        "ids": ids,
    }
    return [values.get(column, "") for column in CSL_COLUMNS]


def write_csl(path: Path, rows: int, companies: list[CompanyCandidate], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(CSL_COLUMNS)
        for index in range(rows):
            writer.writerow(csl_row(rng, index, companies))


def timed(action: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and CPU seconds (all threads) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def parse_only(path: Path) -> int:
    with path.open("rb") as stream:
        return sum(1 for _ in ScreeningReader(stream, source_name=path.name))


def parse_and_match(path: Path, companies: list[CompanyCandidate]) -> Counter[str]:
    matcher = Matcher(companies)
    outcomes: Counter[str] = Counter()
    with path.open("rb") as stream:
        for _, decisions in matcher.match_many(ScreeningReader(stream, source_name=path.name)):
            outcomes["rows"] += 1
            outcomes[decisions[0].outcome.value if decisions else MatchOutcome.none.value] += 1
    return outcomes


def main() -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--rows", type=int, default=20_000)
    arguments.add_argument("--companies", type=int, default=10_000)
    options = arguments.parse_args()

    companies = make_companies(options.companies, random.Random(SEED))
    with tempfile.TemporaryDirectory(prefix="hrdd-bench-") as folder:
        path = Path(folder) / "consolidated.csv"
        write_csl(path, options.rows, companies, SEED + 1)
        size_mb = path.stat().st_size / 1e6
        print(
            f"generated {options.rows:,} CSL rows ({size_mb:.1f} MB), "
            f"{len(companies):,} companies ({sum(len(c.names) for c in companies):,} names)"
        )

        parse_seconds, parse_cpu, parsed = timed(lambda: parse_only(path))
        build_seconds, build_cpu, _ = timed(lambda: Matcher(companies))
        total_seconds, total_cpu, outcomes = timed(lambda: parse_and_match(path, companies))
        assert isinstance(outcomes, Counter) and parsed == outcomes["rows"]

        tracemalloc.start()
        parse_and_match(path, companies)
        _, peak_bytes = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    rows = outcomes["rows"]
    match_seconds = total_seconds - parse_seconds - build_seconds
    match_cpu = total_cpu - parse_cpu - build_cpu
    print("                       wall       CPU (all threads)")
    print(
        f"parse only:            {parse_seconds:6.2f} s  {parse_cpu:6.2f} s  "
        f"({rows / parse_seconds:,.0f} rows/s)"
    )
    print(f"build matcher:         {build_seconds:6.2f} s  {build_cpu:6.2f} s")
    print(f"match alone (approx.): {match_seconds:6.2f} s  {match_cpu:6.2f} s")
    print(
        f"parse + build + match: {total_seconds:6.2f} s  {total_cpu:6.2f} s  "
        f"({rows / total_seconds:,.0f} rows/s)"
    )
    print(
        "outcomes (strongest per row): "
        + ", ".join(f"{outcome.value}={outcomes[outcome.value]:,}" for outcome in MatchOutcome)
    )
    print(f"peak traced Python memory: {peak_bytes / 2**20:.1f} MiB")
    max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"process max RSS: {max_rss_kib / 1024:.1f} MiB")
    print(f"load average while running: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    verdict = "within" if total_seconds < TARGET_SECONDS else "OVER"
    print(f"{verdict} the {TARGET_SECONDS:.0f} s goal for the import without its database part")
    return 0


if __name__ == "__main__":
    sys.exit(main())
