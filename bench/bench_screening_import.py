"""Benchmark: importing a screening list through the service, on a SQLite file database.

Run from the repository root:

    python bench/bench_screening_import.py [--rows 20000] [--companies 10000] [--seed 7]

Builds a fresh SQLite database with the real migrations, adds the generated companies (bulk,
not timed) and one organisation, writes a generated US Consolidated Screening List CSV (29
columns, fictional names), then imports it twice through `import_screening_file`, each time for
a new organisation so both runs do the full work:

1. timed on its own: rows per second and seconds for the whole import (parse, match, write,
   commit), and how long of it the write transaction held the database's write lock (from
   its BEGIN IMMEDIATE to its commit), which every other organisation's writes wait through;
2. again under tracemalloc, for the peak Python memory of the import (tracing slows it down,
   so its time is printed but is not the speed figure).

The generated list holds about 1% rows naming a company with another legal form (automatic
name matches), 0.5% near misses (review queue), 0.5% rows giving a company's ISIN, and a mix of
individuals, vessels and unrelated entities. The goal of issue 4 is under 10 s for 20,000 rows
against 10,000 companies. No figure here is asserted anywhere.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parents[1]
try:
    import hrdd  # noqa: F401 - only checking that the package is importable
except ModuleNotFoundError:
    sys.path.insert(0, str(_REPOSITORY / "src"))

from sqlalchemy import insert  # noqa: E402
from stdnum import isin as stdnum_isin  # noqa: E402

from hrdd import migrations_info  # noqa: E402
from hrdd.auth import service as auth_service  # noqa: E402
from hrdd.companies.models import Company, CompanyIdentifier  # noqa: E402
from hrdd.db import SYSTEM, Database, TenantContext, utcnow  # noqa: E402
from hrdd.models_registry import metadata as _all_tables  # noqa: E402, F401
from hrdd.screening.parsers import CSL_COLUMNS  # noqa: E402
from hrdd.screening.service import (  # noqa: E402
    Importer,
    ScreeningImport,
    import_screening_file,
    read_screening_file,
)

SYLLABLES = [
    "an",
    "bel",
    "cor",
    "dax",
    "el",
    "fen",
    "gal",
    "hex",
    "ir",
    "jun",
    "kal",
    "lor",
    "mer",
    "nov",
    "or",
    "pax",
    "quin",
    "ros",
    "sel",
    "tor",
    "ul",
    "ven",
    "wex",
    "xan",
    "yor",
    "zel",
    "bri",
    "cra",
    "dru",
    "fli",
    "gro",
    "kry",
    "plo",
    "stra",
    "thu",
    "vor",
]
SECTORS = [
    "Systems",
    "Analytics",
    "Networks",
    "Logistics",
    "Foods",
    "Energy",
    "Materials",
    "Media",
    "Labs",
    "Capital",
]
SUFFIXES = ["Ltd", "S.A.", "AG", "Inc.", "GmbH", "plc", "B.V.", "AD", "Holdings", "LLC"]
ENTITY_LIST = "Entity List (EL) - Bureau of Industry and Security"
SDN = "Specially Designated Nationals (SDN) - Treasury Department"


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _isin(rng: random.Random) -> str:
    body = "XS" + "".join(rng.choice("0123456789") for _ in range(9))
    return body + stdnum_isin.calc_check_digit(body)


def generate_companies(count: int, rng: random.Random) -> list[dict[str, object]]:
    names: set[str] = set()
    while len(names) < count:
        names.add(f"{_word(rng)} {_word(rng)} {rng.choice(SECTORS)}")
    now = utcnow()
    return [
        {
            "id": uuid.uuid4(),
            "slug": None,
            "name": name,
            "aliases": [name.split()[0] + " " + name.split()[1]] if rng.random() < 0.3 else [],
            "search_text": name.casefold(),
            "country": None,
            "website": None,
            "categories": [],
            "listing_status": "listed",
            "lei": None,
            "notes": None,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "isin": _isin(rng),
        }
        for name in sorted(names)
    ]


def write_csl(
    path: Path, rows: int, companies: list[dict[str, object]], rng: random.Random
) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL)
        writer.writerow(CSL_COLUMNS)
        for number in range(rows):
            roll = rng.random()
            fields = dict.fromkeys(CSL_COLUMNS, "")
            fields["_id"] = f"{number:08d}" + uuid.UUID(int=rng.getrandbits(128)).hex[:24]
            fields["source"] = ENTITY_LIST
            fields["start_date"] = (
                dt.date(2010, 1, 1) + dt.timedelta(days=rng.randint(0, 5000))
            ).isoformat()
            fields["source_list_url"] = "https://www.bis.doc.gov/entity-list"
            company = rng.choice(companies)
            if roll < 0.01:  # the same company under another legal form
                fields["name"] = f"{company['name']} {rng.choice(SUFFIXES)}"
            elif roll < 0.015:  # one letter off: the grey zone
                name = str(company["name"])
                cut = rng.randint(1, len(name) - 2)
                fields["name"] = name[:cut] + "x" + name[cut + 1 :]
            elif roll < 0.02:  # an unrelated name, but the company's ISIN in the ids
                fields["name"] = f"{_word(rng)} {_word(rng)} Trading"
                fields["ids"] = f"ISIN, {company['isin']}"
                fields["source"] = SDN
                fields["type"] = "Entity"
            elif roll < 0.35:
                fields["name"] = f"{_word(rng).upper()}, {_word(rng)}"
                fields["type"] = "Individual"
                fields["source"] = SDN
            elif roll < 0.40:
                fields["name"] = f"{_word(rng).upper()} {rng.randint(1, 9)}"
                fields["type"] = "Vessel"
                fields["source"] = SDN
            else:
                fields["name"] = (
                    f"{_word(rng)} {_word(rng)} {rng.choice(['Import', 'Export', 'Tech'])}"
                )
                fields["alt_names"] = f"{_word(rng)} Co.; {_word(rng)} Group"
            fields["addresses"] = f"{rng.randint(1, 99)} Example Road, Example City, CN"
            writer.writerow(fields.values())


def run_import(
    database: Database, csl: Path, organisation: str, rows: int
) -> tuple[ScreeningImport, float]:
    """The import as the API and the CLI run it, and the seconds its write held the lock."""
    with database.session(SYSTEM, write=True) as session:
        org = auth_service.create_organisation(session, organisation)
    tenant = TenantContext(org.id)
    with (
        csl.open("rb") as stream,
        read_screening_file(
            database.session(tenant, write=False),
            stream,
            file_name=csl.name,
            snapshot_date=dt.date(2025, 1, 15),
            max_rows=rows + 1,
        ) as screening_file,
    ):
        # The write session begins (BEGIN IMMEDIATE) at the import's first query.
        began = time.perf_counter()
        with database.session(tenant, write=True) as session:
            importer = Importer(org.id, None, "benchmark")
            run = import_screening_file(session, importer, screening_file)
        return run, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrations_info.upgrade(url)
        database = Database(url)
        companies = generate_companies(args.companies, rng)
        with database.session(SYSTEM, write=True) as session:
            session.execute(
                insert(Company), [{k: v for k, v in c.items() if k != "isin"} for c in companies]
            )
            session.execute(
                insert(CompanyIdentifier),
                [
                    {
                        "id": uuid.uuid4(),
                        "company_id": c["id"],
                        "scheme": "isin",
                        "value": c["isin"],
                    }
                    for c in companies
                ],
            )
        csl = Path(folder) / "consolidated.csv"
        write_csl(csl, args.rows, companies, rng)
        size_mb = csl.stat().st_size / 1e6
        print(f"{args.rows} CSL rows ({size_mb:.1f} MB) against {args.companies} companies")

        started = time.perf_counter()
        run, locked = run_import(database, csl, "Benchmark fund", args.rows)
        elapsed = time.perf_counter() - started
        print(
            f"import: {elapsed:.2f} s, {run.rows_total / elapsed:,.0f} rows/s "
            f"({run.identifier_matches} identifier and {run.name_matches} name matches, "
            f"{run.review_queued} queued for review, {run.evidence_created} evidence items)"
        )
        print(f"write lock held: {locked:.2f} s (write transaction begin to commit)")

        tracemalloc.start()
        started = time.perf_counter()
        run_import(database, csl, "Benchmark fund (traced)", args.rows)
        traced = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"peak Python memory during an import: {peak / 2**20:.1f} MiB "
            f"(that run under tracemalloc took {traced:.2f} s)"
        )
        database.dispose()


if __name__ == "__main__":
    main()
