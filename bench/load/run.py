"""Load benchmark: the served app under wrk, against bare FastAPI endpoints as the ceilings.

    python bench/load/run.py [--backend sqlite|postgres] [--seconds N]

1. Prepares a fresh database (SQLite file in a temporary folder, or a new PostgreSQL database
   named by --postgres-url, which is dropped and recreated, and dropped at the end; an existing
   database not named hrdd_load... is refused): migrations, the bundled content, one
   organisation with an investor and an analyst key.
2. Serves it with `python -m hrdd serve` (uvicorn, one process, 127.0.0.1, a free port, the
   default log level: one JSON access line per request, as in production) and builds the
   data through the HTTP API: a final, scored assessment of NSO Group, a portfolio of twelve
   holdings with their companies confirmed, and one draft assessment per writer.
3. Drives it from wrk (a separate process on 127.0.0.1), each scenario bounded by --seconds
   and --max-requests, after a short warm-up that is not counted:
   - score reads   GET /api/v1/assessments/{id}/score
   - risk reads    GET /api/v1/portfolios/{id}/risk
                   both read one URL over and over with nothing written in between, so after
                   the first read they are served from the response cache (hrdd.response_cache):
                   --no-response-cache measures the reads as a cache miss would serve them
   - answer writes PUT /api/v1/assessments/{id}/answers/P3 with If-Match; each writer owns a
                   draft and follows its ETag; a 412 is a retry, counted apart from errors
   - key check     GET /api/v1/me, no goal: the cost of any authenticated route (the key
                   lookup) without tenant data, to tell the framework's share from the domain's
   and serves bench/load/ceiling.py the same way for the two ceilings (a `def` endpoint,
   which FastAPI runs in a worker thread as hrdd runs its database routes, and an `async def`
   one, which skips the thread hop and does about three times as much), and
   bench/load/floor.py for the write floor (no goal): hrdd's app with a route that takes what
   an answer write takes (key, If-Match, body, tenant session, worker thread) and does no work,
   which tells the framework's share of a write from the domain's. The writers' warm-up
   moves their ETags on; they are read again before the measured run.
4. Prints requests/s, p50 and p99 latency, errors and the server process's CPU time per
   request of each scenario, its ratio to each ceiling and whether the goal is met against
   each (reads at least 0.50 of the ceiling, writes at least 0.25, no errors). The exit
   status follows the thread ceiling.

Why wrk: on a two-core machine a load generator written in Python needs a core of its own to
produce a few thousand requests a second, so it would measure itself as much as the server.
wrk is C on epoll and uses a fraction of a core at these rates, leaving the server the same
share of the machine in every scenario, the ceiling included. Install it with
`apt-get install wrk`. No figure is asserted anywhere; nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hrdd import migrations_info
from hrdd.auth import service as auth_service
from hrdd.config import PROJECT_ROOT, Settings
from hrdd.content import load_bundled_content
from hrdd.db import SYSTEM, Database
from hrdd.questionnaires.answers import parse_answer_payload, visible_questions
from hrdd.questionnaires.loader import load_questionnaire_file
from hrdd.questionnaires.schemas import (
    DateAnswerType,
    DisclosureAnswerType,
    MultipleChoiceAnswerType,
    NumberAnswerType,
    Questionnaire,
    SingleChoiceAnswerType,
    TextAnswerType,
)
from hrdd.vocab import Role

HERE = Path(__file__).resolve().parent
API = "/api/v1"
QUESTIONNAIRE_FILE = PROJECT_ROOT / "questionnaires" / "stap-surveillance-v1.yaml"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hrdd_load"
# Databases named so are the benchmark's own, dropped and recreated without asking.
SCRATCH_DATABASE_PREFIX = "hrdd_load"
WARM_UP_SECONDS = 2
READ_GOAL, WRITE_GOAL = 0.50, 0.25
# Bundled companies found by identifier or by name, plus holdings nobody assessed.
HOLDINGS_CSV = """name,isin,ticker,market_value,weight
NSO Group Technologies Limited,,,2500000,0.10
Cellebrite DI Ltd.,,NASDAQ:CLBT,1800000,0.07
Nestlé S.A.,CH0038863350,,5200000,0.21
Unilever PLC,GB00B10RZP78,,4100000,0.16
Candiru,,,900000,0.04
Intellexa Consortium,,,700000,0.03
Sandvine Incorporated,,,1100000,0.04
Paragon Solutions Ltd.,,,600000,0.02
Harbourline Logistics AG,,,3000000,0.12
Fjordvale Energy ASA,,,2400000,0.09
Kestrel Foods plc,,,1500000,0.06
Orchard Lane Retail Inc.,,,1300000,0.06
"""


@dataclass
class Scenario:
    name: str
    kind: str  # "read", "write", "ceiling" or "reference" (no goal)
    url: str
    script: str
    args: list[str]
    threads: int
    connections: int


@dataclass
class Result:
    scenario: Scenario
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    retries_412: int
    cpu_seconds: float = 0.0  # the server process's, over the measured run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0


# --- the database ------------------------------------------------------------------------------


def fresh_database(backend: str, workdir: Path, postgres_url: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'hrdd-load.db'}"
    url = make_url(postgres_url)
    _drop_postgres(postgres_url, create=True)
    return url.render_as_string(hide_password=False)


def _refuse_a_database_in_use(postgres_url: str) -> None:
    """The benchmark drops and recreates the database it is given, and drops it at the end. An
    existing database not named ``hrdd_load...`` is someone's (the test suite's `test`, say: a
    run against it removed it), so it is refused; a new name is created and dropped."""
    url = make_url(postgres_url)
    if (url.database or "").startswith(SCRATCH_DATABASE_PREFIX):
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
        )
    admin.dispose()
    if exists:
        raise SystemExit(
            f"database {url.database!r} exists: the load benchmark drops and recreates the "
            "database it is given, and drops it at the end. Name one starting "
            f"{SCRATCH_DATABASE_PREFIX!r} (the default is "
            f"{make_url(DEFAULT_POSTGRES_URL).database!r}) or one that does not exist."
        )


def _drop_postgres(postgres_url: str, *, create: bool = False) -> None:
    url = make_url(postgres_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()


def prepare_database(url: str, data_dir: Path) -> dict[str, str]:
    """Migrations, bundled content, and an organisation; returns its keys by role."""
    migrations_info.upgrade(url)
    database = Database(url)
    try:
        load_bundled_content(database, Settings(database_url=url, data_dir=data_dir))
        with database.session(SYSTEM, write=True) as session:
            organisation = auth_service.create_organisation(session, "Load test fund")
            keys = {
                role.value: auth_service.create_key(
                    session, organisation.id, f"load {role.value}", role
                )[1]
                for role in (Role.investor, Role.analyst)
            }
    finally:
        database.dispose()
    return keys


# --- serving -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A served process: its base URL, and the CPU time it has used so far (user and system,
    from /proc: Linux only). CPU per request is steadier than requests per second on a shared
    machine whose speed drifts, and tells the server's cost from the load generator's."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[Server]:
    """Run a uvicorn server process until the block ends."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=log_file,
            stderr=log_file,
        )
        try:
            wait_until_up(process, base_url)
            yield Server(base_url, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_up(process: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}; see its log")
        try:
            if httpx.get(base_url + "/openapi.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base_url} did not answer within a minute")


# --- the data, through the API -----------------------------------------------------------------


def required_answers(questionnaire: Questionnaire) -> dict[str, Any]:
    """An answer to every required question that ends up visible: absence-reporting values
    where the type has one, else a neutral value, each with one cited web page."""
    proof = [{"title": "Load test source", "url": "https://example.org/load-test"}]
    answers: dict[str, Any] = {}
    for question in questionnaire.questions:
        shown = visible_questions(
            questionnaire, {qid: parse_answer_payload(p) for qid, p in answers.items()}
        )
        if not question.required or question.id not in shown:
            continue
        answer_type = question.answer_type
        payload: dict[str, Any]
        match answer_type:
            case DisclosureAnswerType():
                payload = {"type": "disclosure", "level": "no_information"}
            case SingleChoiceAnswerType():
                option = next((o for o in answer_type.options if o.reports_absence), None)
                option = option or answer_type.options[0]
                payload = {"type": "single_choice", "value": option.id, "evidence": proof}
            case MultipleChoiceAnswerType():
                chosen = [o.id for o in answer_type.options[: max(answer_type.min_selected, 1)]]
                payload = {"type": "multiple_choice", "values": chosen, "evidence": proof}
            case NumberAnswerType():
                low = answer_type.min if answer_type.min is not None else 0
                payload = {"type": "number", "value": str(low), "evidence": proof}
            case DateAnswerType():
                low = answer_type.min or date(2020, 1, 1)
                payload = {"type": "date", "value": low.isoformat(), "evidence": proof}
            case TextAnswerType():
                payload = {"type": "text", "value": "Load test answer", "evidence": proof}
        answers[question.id] = payload
    return answers


def checked(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise SystemExit(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response


@dataclass
class World:
    scored_assessment: str
    portfolio: str
    writer_assessments: list[str]
    writer_etags: list[str]


def build_world(base_url: str, keys: dict[str, str], writers: int) -> World:
    investor = {"Authorization": f"Bearer {keys['investor']}"}
    analyst = {"Authorization": f"Bearer {keys['analyst']}"}
    with httpx.Client(base_url=base_url + API, timeout=60) as client:
        found = checked(client.get("/companies", params={"q": "NSO"}, headers=investor), 200)
        nso = found.json()["items"][0]["id"]
        started = checked(
            client.post(
                "/assessments",
                json={"company_id": nso, "questionnaire_key": "stap-surveillance"},
                headers=investor,
            ),
            201,
        )
        assessment = started.json()["id"]
        answered = checked(
            client.patch(
                f"/assessments/{assessment}/answers",
                json={"answers": required_answers(load_questionnaire_file(QUESTIONNAIRE_FILE))},
                headers=investor | {"If-Match": started.headers["ETag"]},
            ),
            200,
        )
        submitted = checked(
            client.post(
                f"/assessments/{assessment}/submit",
                headers=investor | {"If-Match": answered.headers["ETag"]},
            ),
            200,
        )
        checked(
            client.post(
                f"/assessments/{assessment}/review",
                json={"decision": "approve"},
                headers=analyst | {"If-Match": submitted.headers["ETag"]},
            ),
            200,
        )
        checked(client.get(f"/assessments/{assessment}/score", headers=investor), 200)

        portfolio = checked(
            client.post(
                "/portfolios",
                json={"name": "Load test equity", "base_currency": "EUR"},
                headers=investor,
            ),
            201,
        ).json()["id"]
        checked(
            client.post(
                f"/portfolios/{portfolio}/holdings/import",
                files={"file": ("holdings.csv", HOLDINGS_CSV.encode(), "text/csv")},
                headers=investor,
            ),
            200,
        )
        holdings = checked(
            client.get(f"/portfolios/{portfolio}/holdings", headers=investor), 200
        ).json()["items"]
        for holding in holdings:
            if holding["resolution"] == "candidates":
                checked(
                    client.post(
                        f"/portfolios/{portfolio}/holdings/{holding['id']}/resolve",
                        json={"company_id": holding["candidates"][0]["company_id"]},
                        headers=investor,
                    ),
                    200,
                )
        checked(client.get(f"/portfolios/{portfolio}/risk", headers=investor), 200)

        writer_ids, writer_etags = [], []
        for number in range(writers):
            company = checked(
                client.post(
                    "/companies", json={"name": f"Load Writer {number} Ltd"}, headers=analyst
                ),
                201,
            ).json()["id"]
            draft = checked(
                client.post(
                    "/assessments",
                    json={"company_id": company, "questionnaire_key": "stap-surveillance"},
                    headers=investor,
                ),
                201,
            )
            writer_ids.append(draft.json()["id"])
            writer_etags.append(draft.headers["ETag"])
    return World(assessment, portfolio, writer_ids, writer_etags)


def settled_etags(base_url: str, key: str, assessment_ids: list[str]) -> list[str]:
    """The writers' ETags once writes still in flight when wrk stopped have landed (two
    readings half a second apart agree)."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url + API, timeout=60) as client:

        def read() -> list[str]:
            return [
                checked(client.get(f"/assessments/{i}", headers=headers), 200).headers["ETag"]
                for i in assessment_ids
            ]

        previous, deadline = read(), time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.5)
            current = read()
            if current == previous:
                break
            previous = current
        return previous


# --- driving -----------------------------------------------------------------------------------


def run_wrk(scenario: Scenario, seconds: int, max_requests: int) -> Result:
    per_thread = max(1, math.ceil(max_requests / scenario.threads))
    command = [
        "wrk",
        f"-t{scenario.threads}",
        f"-c{scenario.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / scenario.script),
        scenario.url,
        "--",
        scenario.args[0],
        str(per_thread),
        *scenario.args[1:],
    ]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((row for row in finished.stdout.splitlines() if row.startswith("RESULT ")), None)
    if finished.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed for {scenario.name}:\n{finished.stdout}\n{finished.stderr}")
    figures = json.loads(line.removeprefix("RESULT "))
    return Result(
        scenario=scenario,
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        errors=figures["socket_errors"] + figures["timeouts"] + figures["unexpected_status"],
        retries_412=figures["retries_412"],
    )


def measure(
    scenario: Scenario,
    server: Server,
    seconds: int,
    max_requests: int,
    after_warm_up: Callable[[Scenario], Scenario] | None = None,
) -> Result:
    run_wrk(scenario, WARM_UP_SECONDS, max_requests)
    if after_warm_up is not None:
        scenario = after_warm_up(scenario)
    cpu_before = server.cpu_seconds()
    result = run_wrk(scenario, seconds, max_requests)
    result.cpu_seconds = server.cpu_seconds() - cpu_before
    print(
        f"  {scenario.name:<14} {result.rate:9.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}  "
        f"server CPU {result.cpu_ms_per_request:.2f} ms/request",
        flush=True,
    )
    return result


def report(results: list[Result], ceilings: list[Result], server_errors: int) -> bool:
    """The table, with each scenario's ratio to each ceiling; a goal is met against a ceiling
    when the ratio reaches it with no errors. Returns whether every goal is met against the
    thread ceiling, the one comparable with hrdd's database routes."""
    print()
    kinds = [c.scenario.name.removeprefix("ceiling ") for c in ceilings]
    ratio_headers = "".join(f" {'/' + kind:>9}" for kind in kinds)
    met_headers = "".join(f" {'met ' + kind:>10}" for kind in kinds)
    print(
        f"{'scenario':<16} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'412 retries':>11} {'CPU ms':>7}{ratio_headers} {'goal':>6}{met_headers}"
    )
    all_met = True
    for result in [*ceilings, *results]:
        goal = {"read": READ_GOAL, "write": WRITE_GOAL}.get(result.scenario.kind)
        ratios = [result.rate / c.rate if c.rate else 0.0 for c in ceilings]
        met = [result.errors == 0 and (goal is None or ratio >= goal) for ratio in ratios]
        all_met = all_met and met[0]
        print(
            f"{result.scenario.name:<16} {result.rate:9.1f} {result.p50_ms:8.2f} "
            f"{result.p99_ms:8.2f} {result.errors:7d} {result.retries_412:11d}"
            f" {result.cpu_ms_per_request:7.2f}"
            + "".join(f" {ratio:9.2f}" for ratio in ratios)
            + f" {('' if goal is None else f'{goal:.2f}'):>6}"
            + "".join(f" {'yes' if m else 'NO':>10}" for m in met)
        )
    print(
        "\nCPU ms: the server process's CPU time per request over the measured run (PostgreSQL's"
        " own processes not included)"
    )
    print(f"server log lines at ERROR level: {server_errors}")
    return all_met and server_errors == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seconds", type=int, default=10, help="per scenario (default 10)")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="per scenario (default 200000)"
    )
    parser.add_argument("--connections", type=int, default=8, help="for reads (default 8)")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writers (default 4)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--no-response-cache",
        action="store_true",
        help="serve with HRDD_RESPONSE_CACHE_BYTES=0: every read runs its queries",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    if args.backend == "postgres":
        _refuse_a_database_in_use(args.postgres_url)
    workdir = Path(tempfile.mkdtemp(prefix="hrdd-load-"))
    url = fresh_database(args.backend, workdir, args.postgres_url)
    data_dir = workdir / "data"
    print(f"preparing {args.backend} database in {workdir} ...", flush=True)
    keys = prepare_database(url, data_dir)
    env = os.environ | {"HRDD_DATABASE_URL": url, "HRDD_DATA_DIR": str(data_dir)}
    if args.no_response_cache:
        env["HRDD_RESPONSE_CACHE_BYTES"] = "0"
    server_log = workdir / "server.log"
    try:
        with served(
            [sys.executable, "-m", "uvicorn", "ceiling:app", "--log-level", "warning"],
            env,
            HERE,
            workdir / "ceiling.log",
        ) as ceiling:
            print("ceilings: bare FastAPI endpoints, def (thread) and async def", flush=True)
            ceilings = [
                measure(
                    Scenario(
                        name, "ceiling", ceiling.url + path, "read.lua", ["-"], 2, args.connections
                    ),
                    ceiling,
                    args.seconds,
                    args.max_requests,
                )
                for name, path in (("ceiling thread", "/ping"), ("ceiling async", "/ping-async"))
            ]
        with served([sys.executable, "-m", "hrdd", "serve"], env, workdir, server_log) as hrdd:
            base = hrdd.url
            world = build_world(base, keys, args.writers)
            cache = "off" if args.no_response_cache else "on"
            print(f"hrdd on {args.backend}, response cache {cache}", flush=True)
            investor = keys["investor"]
            scenarios = [
                # Not a goal: the floor of any authenticated route (key lookup, no tenant
                # data), which tells the framework's share of a read from the domain's.
                Scenario(
                    "key check /me",
                    "reference",
                    f"{base}{API}/me",
                    "read.lua",
                    [investor],
                    2,
                    args.connections,
                ),
                Scenario(
                    "score read",
                    "read",
                    f"{base}{API}/assessments/{world.scored_assessment}/score",
                    "read.lua",
                    [investor],
                    2,
                    args.connections,
                ),
                Scenario(
                    "risk read",
                    "read",
                    f"{base}{API}/portfolios/{world.portfolio}/risk",
                    "read.lua",
                    [investor],
                    2,
                    args.connections,
                ),
                Scenario(
                    "answer write",
                    "write",
                    base,
                    "write.lua",
                    [investor, ",".join(world.writer_assessments), ",".join(world.writer_etags)],
                    args.writers,
                    args.writers,
                ),
            ]

            def refresh_etags(writes: Scenario) -> Scenario:
                """The warm-up moved the writers' ETags on; start the count from the current
                ones so that the 412 column shows only conflicts of the measured run."""
                etags = settled_etags(base, investor, world.writer_assessments)
                writes.args = [investor, ",".join(world.writer_assessments), ",".join(etags)]
                return writes

            results = [
                measure(
                    s,
                    hrdd,
                    args.seconds,
                    args.max_requests,
                    refresh_etags if s.kind == "write" else None,
                )
                for s in scenarios
            ]
        # Not a goal: hrdd's app with a route that takes what an answer write takes and does
        # none of its work (bench/load/floor.py), served the same way: the framework's share.
        with served(
            [sys.executable, "-m", "uvicorn", "floor:app", "--log-level", "warning"],
            env,
            HERE,
            server_log,
        ) as floor:
            print("write floor: hrdd's app, a write route that does no work", flush=True)
            results.append(
                measure(
                    Scenario(
                        "write floor",
                        "reference",
                        floor.url,
                        "write.lua",
                        [
                            investor,
                            ",".join(world.writer_assessments),
                            ",".join(world.writer_etags),
                            "/floor/assessments/",
                        ],
                        args.writers,
                        args.writers,
                    ),
                    floor,
                    args.seconds,
                    args.max_requests,
                )
            )
        server_errors = sum(
            1 for line in server_log.read_text().splitlines() if '"level": "ERROR"' in line
        )
        met = report(results, ceilings, server_errors)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            if args.backend == "postgres":
                _drop_postgres(args.postgres_url)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
