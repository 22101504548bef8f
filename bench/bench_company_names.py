"""Benchmark: a company search that finds nothing, against a large registry.

When `GET /companies?q=` finds no company by a word of its names, it suggests companies whose
names resemble the query, and the holdings import does the same for a name without an
identifier. Both build the index of every name the caller sees (names, aliases, owners'
names in ownership links) from the database on each call. This benchmark builds a SQLite
registry of invented companies (fixed seed; a third with an alias), then times
`suggest_companies` for a query that resembles nothing:

- cold: with the name normalisation's memory emptied before each call (a new process);
- warm: as in a running service, where the same names were normalised before.

It prints the median milliseconds per call over --calls calls. No figure is asserted. Run from
the repository root:

    python bench/bench_company_names.py [--companies 20000] [--calls 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parents[1]
try:
    import hrdd  # noqa: F401 - only checking that the package is importable
except ModuleNotFoundError:
    sys.path.insert(0, str(_REPOSITORY / "src"))

from hrdd import migrations_info  # noqa: E402
from hrdd.companies.models import Company  # noqa: E402
from hrdd.companies.names import normalise_name  # noqa: E402
from hrdd.companies.service import suggest_companies  # noqa: E402
from hrdd.db import SYSTEM, Database  # noqa: E402

SEED = 7
LEGAL_FORMS = (" Ltd", " Inc.", " S.A.", " GmbH", " plc", "")
QUERY = "Zzyzx Qwerty Holdings"


def fill(database: Database, companies: int) -> None:
    rng = random.Random(SEED)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 9))) for _ in range(3000)]
    with database.session(SYSTEM, write=True) as session:
        for index in range(companies):
            base = " ".join(rng.choices(words, k=rng.randint(1, 3))).title()
            name = f"{base} {index}{rng.choice(LEGAL_FORMS)}"
            aliases = [f"{base} Group {index}"] if index % 3 == 0 else []
            session.add(Company(name=name, search_text=name.casefold(), aliases=aliases))


def median_ms(database: Database, calls: int, *, cold: bool) -> float:
    timings = []
    for _ in range(calls):
        if cold:
            normalise_name.cache_clear()
        with database.session(SYSTEM) as session:
            started = time.perf_counter()
            found = suggest_companies(session, QUERY, None, 5)
            timings.append(1000 * (time.perf_counter() - started))
        assert found == [], "the query must resemble no invented name"
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hrdd-names-") as folder:
        url = f"sqlite:///{Path(folder) / 'names.db'}"
        migrations_info.upgrade(url)
        database = Database(url)
        try:
            fill(database, args.companies)
            median_ms(database, 1, cold=False)  # the statement cache and the pages
            cold = median_ms(database, args.calls, cold=True)
            warm = median_ms(database, args.calls, cold=False)
        finally:
            database.dispose()
    print(f"company search miss (suggestions) over {args.companies} companies, SQLite")
    print(f"  cold normalisation: {cold:8.1f} ms per call (median of {args.calls})")
    print(f"  warm normalisation: {warm:8.1f} ms per call (median of {args.calls})")


if __name__ == "__main__":
    main()
