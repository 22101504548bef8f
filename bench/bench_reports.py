"""Benchmark: the reportlab portfolio report against the same rows through WeasyPrint.

Run from the repository root:

    python bench/bench_reports.py [--sizes 1000 10000] [--weasyprint-sizes 1000]

Each measurement runs in its own subprocess, so peak-memory figures never mix. A worker builds
a generated portfolio report model (fictional holdings), renders it once untimed to load fonts
and code, then times a second render, and finally renders once more under tracemalloc for the
peak of Python allocations. ru_maxrss is the whole worker process (interpreter, libraries,
model, PDF) and is the figure to hold against the memory goal.

Goals (issue 6): at least 10x faster than WeasyPrint at 1,000 rows; t(10k)/t(1k) <= 12; peak
memory for 10,000 holdings under 300 MB. WeasyPrint is the optional `bench` extra
(`pip install -e .[bench]` or `pip install weasyprint`); without it that comparison is skipped
with a message.
"""

import argparse
import gc
import html
import io
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

_REPOSITORY = Path(__file__).resolve().parents[1]
try:
    import hrdd  # noqa: F401 - only checking that the package is importable
except ModuleNotFoundError:
    sys.path.insert(0, str(_REPOSITORY / "src"))

from hrdd.portfolios.schemas import ShareBasis  # noqa: E402
from hrdd.reports.portfolio_pdf import render_portfolio_report  # noqa: E402
from hrdd.reports.schemas import (  # noqa: E402
    BandExposure,
    FlaggedHolding,
    HoldingRow,
    Identifier,
    KeyEvidence,
    KeyFigures,
    MethodologySection,
    PortfolioReport,
    RuleSetRef,
    UnassessedHolding,
)
from hrdd.vocab import Confidence, InvestorAction, RiskBand, SourceClass  # noqa: E402

GOAL_SPEEDUP = 10.0
GOAL_SCALING = 12.0
GOAL_PEAK_MB = 300.0
_BANDS = list(RiskBand)
_ACTIONS = list(InvestorAction)
_CONFIDENCES = list(Confidence)
_NAME_PARTS = ("Example", "Holdings", "Industries", "Systems", "Networks", "Group", "Capital")
# Greek, Cyrillic, Hebrew and Arabic on purpose: their letters look like Latin ones to ruff.
_NON_LATIN_NAMES = ("Παράδειγμα Α.Ε.", "Пример Холдинг", "דוגמה בע״מ", "شركة مثال")  # noqa: RUF001


def generated_portfolio(holding_count: int) -> PortfolioReport:
    """A fictional portfolio: every tenth holding unassessed, names of varied length."""
    holdings: list[HoldingRow] = []
    unassessed: list[UnassessedHolding] = []
    value_by_band = {band: Decimal(0) for band in _BANDS}
    count_by_band = {band: 0 for band in _BANDS}
    for index in range(holding_count):
        words = " ".join(_NAME_PARTS[: 1 + index % len(_NAME_PARTS)])
        name = f"{_NON_LATIN_NAMES[index % 4]} {index}" if index % 97 == 0 else f"{words} {index}"
        identifiers = [Identifier(scheme="ID", value=f"BENCH{index:07d}")]
        value = Decimal(1_000 + (index * 7_919) % 250_000)
        if index % 10 == 0:
            holdings.append(HoldingRow(name=name, identifiers=identifiers, value=value))
            unassessed.append(
                UnassessedHolding(
                    name=name, identifiers=identifiers, value=value, reason="No company matched"
                )
            )
            continue
        band = _BANDS[index % len(_BANDS)]
        value_by_band[band] += value
        count_by_band[band] += 1
        holdings.append(
            HoldingRow(
                name=name,
                identifiers=identifiers,
                value=value,
                band=band,
                score=float(index % 101),
                confidence=_CONFIDENCES[index % len(_CONFIDENCES)],
                action=_ACTIONS[index % len(_ACTIONS)],
            )
        )
    total = sum((holding.value or Decimal(0) for holding in holdings), Decimal(0))
    holdings = [
        holding.model_copy(update={"weight": (holding.value or Decimal(0)) / total})
        for holding in holdings
    ]
    flagged = [
        FlaggedHolding(
            name=holding.name,
            identifiers=holding.identifiers,
            value=holding.value,
            weight=holding.weight,
            band=RiskBand.severe,
            score=holding.score or 0.0,
            confidence=Confidence.medium,
            action=InvestorAction.escalate_collectively,
            action_reason="Generated benchmark holding in the severe band.",
            key_evidence=[
                KeyEvidence(
                    publisher="Example Publisher",
                    title=f"Generated citation {position}",
                    url="https://example.org/bench",
                    source_class=SourceClass.media_report,
                )
            ],
        )
        for position, holding in enumerate(holdings)
        if holding.band is RiskBand.severe and position < 400
    ]
    unassessed_value = sum((item.value or Decimal(0) for item in unassessed), Decimal(0))
    return PortfolioReport(
        portfolio_name=f"Benchmark portfolio of {holding_count:,} holdings",
        owner_organisation="Benchmark organisation",
        report_date=date(2025, 1, 31),
        rule_set=RuleSetRef(id="bench", version="1"),
        key_figures=KeyFigures(
            total_value=total,
            currency="EUR",
            holdings_count=holding_count,
            by_band=[
                BandExposure(
                    band=band,
                    holdings=count_by_band[band],
                    value=value_by_band[band],
                    share_of_value=value_by_band[band] / total,
                )
                for band in _BANDS
            ],
            share_basis=ShareBasis.market_values,
            holdings_without_value=0,
            holdings_without_share=0,
            value_with_active_override=value_by_band[RiskBand.severe],
            share_with_active_override=value_by_band[RiskBand.severe] / total,
            holdings_with_active_override=count_by_band[RiskBand.severe],
            value_unassessed=unassessed_value,
            share_unassessed=unassessed_value / total,
            unassessed_count=len(unassessed),
            needing_escalation=count_by_band[RiskBand.severe] + count_by_band[RiskBand.high],
        ),
        flagged=flagged,
        holdings=holdings,
        unassessed=unassessed,
        methodology=[
            MethodologySection(title="Benchmark", paragraphs=["Generated text for timing only."])
        ],
    )


def holdings_html(report: PortfolioReport) -> str:
    """The holdings table as HTML, the same rows and columns the PDF prints."""
    cells = []
    for holding in report.holdings:
        row = (
            holding.name,
            "; ".join(f"{i.scheme} {i.value}" for i in holding.identifiers),
            "" if holding.value is None else f"{holding.value:,.2f}",
            "" if holding.weight is None else f"{float(holding.weight) * 100:.1f}%",
            "Unassessed" if holding.band is None else holding.band.value,
            "" if holding.score is None else f"{holding.score:.1f}",
            "" if holding.confidence is None else holding.confidence.value,
            "" if holding.action is None else holding.action.value,
        )
        cells.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    header = "".join(
        f"<th>{name}</th>"
        for name in (
            "Holding",
            "Identifiers",
            "Value",
            "Weight",
            "Band",
            "Score",
            "Confidence",
            "Action",
        )
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><style>"
        "@page { size: A4; margin: 20mm 18mm; @bottom-right { content: 'Page ' counter(page)"
        " ' of ' counter(pages); font-size: 7pt; } }"
        "body { font-family: 'DejaVu Sans', sans-serif; font-size: 7pt; }"
        "table { border-collapse: collapse; width: 100%; }"
        "th { background: #e8ecf1; text-align: left; }"
        "td, th { padding: 1px 2.5px; white-space: nowrap; overflow: hidden; }"
        "tr:nth-child(even) td { background: #f6f7f9; }"
        f"</style></head><body><h1>{html.escape(report.portfolio_name)}</h1>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(cells)}</tbody></table>"
        "</body></html>"
    )


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes, macOS in bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e6


def _worker(engine: str, holding_count: int, repeats: int) -> dict[str, Any]:
    started = time.perf_counter()
    report = generated_portfolio(holding_count)
    model_seconds = time.perf_counter() - started

    if engine == "reportlab":

        def render() -> int:
            buffer = io.BytesIO()
            render_portfolio_report(report, buffer)
            return len(buffer.getvalue())

        warm_up_report = generated_portfolio(10)
        started = time.perf_counter()
        render_portfolio_report(warm_up_report, io.BytesIO())
        first_use_seconds = time.perf_counter() - started
    else:
        import weasyprint

        document = holdings_html(report)

        def render() -> int:
            return len(weasyprint.HTML(string=document).write_pdf())

        started = time.perf_counter()
        weasyprint.HTML(string="<p>warm-up</p>").write_pdf()
        first_use_seconds = time.perf_counter() - started

    timings = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        pdf_bytes = render()
        timings.append(time.perf_counter() - started)
    render_seconds = statistics.median(timings)
    # Before tracemalloc, whose own bookkeeping would inflate the process figure.
    max_rss_mb = _peak_rss_mb()

    gc.collect()
    tracemalloc.start()
    render()
    traced_peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return {
        "engine": engine,
        "holdings": holding_count,
        "model_seconds": model_seconds,
        "first_use_seconds": first_use_seconds,
        "render_seconds": render_seconds,
        "repeats": repeats,
        "pdf_bytes": pdf_bytes,
        "traced_peak_mb": traced_peak_mb,
        "max_rss_mb": max_rss_mb,
    }


def _run_worker(engine: str, holding_count: int, repeats: int) -> dict[str, Any] | None:
    completed = subprocess.run(
        [sys.executable, __file__, "--worker", engine, str(holding_count), str(repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        print(f"  {engine} at {holding_count:,} holdings failed:\n{completed.stderr.strip()}")
        return None
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _weasyprint_version() -> str | None:
    try:
        import weasyprint
    except (ImportError, OSError):
        # OSError: the Python package is there but its Pango/HarfBuzz libraries are not.
        return None
    return str(weasyprint.__version__)


def _print_result(result: dict[str, Any]) -> None:
    print(
        f"  {result['engine']:<10} {result['holdings']:>6,} holdings: "
        f"render {result['render_seconds']:7.2f} s  "
        f"(first use {result['first_use_seconds']:.2f} s, model {result['model_seconds']:.2f} s)  "
        f"PDF {result['pdf_bytes'] / 1e6:6.2f} MB  "
        f"tracemalloc peak {result['traced_peak_mb']:7.1f} MB  "
        f"max RSS {result['max_rss_mb']:7.1f} MB"
    )


def _verdict(passed: bool) -> str:
    return "meets the goal" if passed else "MISSES the goal"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--weasyprint-sizes", type=int, nargs="*", default=[1_000])
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed renders per measurement (median shown)"
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        engine, holding_count, repeats = arguments.worker
        print(json.dumps(_worker(engine, int(holding_count), int(repeats))))
        return

    print(
        f"Python {sys.version.split()[0]}; each line is a separate subprocess; render time is "
        f"the median of {arguments.repeats} runs."
    )
    print("  reportlab: the whole portfolio report (key figures, charts, flagged, all tables)")
    reportlab_results: dict[int, dict[str, Any]] = {}
    failed = 0
    for size in arguments.sizes:
        result = _run_worker("reportlab", size, arguments.repeats)
        if result:
            reportlab_results[size] = result
            _print_result(result)
        else:
            failed += 1

    weasyprint_results: dict[int, dict[str, Any]] = {}
    version = _weasyprint_version()
    if version is None:
        print(
            "  WeasyPrint is not importable here (pip install weasyprint, or the `bench` extra): "
            "the comparison with WeasyPrint is SKIPPED."
        )
    else:
        print(f"  WeasyPrint {version}: the holdings rows only, as one HTML table")
        for size in arguments.weasyprint_sizes:
            result = _run_worker("weasyprint", size, arguments.repeats)
            if result:
                weasyprint_results[size] = result
                _print_result(result)
            else:
                failed += 1

    print("Summary")
    if 1_000 in reportlab_results and 1_000 in weasyprint_results:
        speedup = (
            weasyprint_results[1_000]["render_seconds"] / reportlab_results[1_000]["render_seconds"]
        )
        print(
            f"  WeasyPrint / reportlab at 1,000 rows: {speedup:.1f}x "
            f"(goal >= {GOAL_SPEEDUP:.0f}x: {_verdict(speedup >= GOAL_SPEEDUP)})"
        )
    if 1_000 in reportlab_results and 10_000 in reportlab_results:
        scaling = (
            reportlab_results[10_000]["render_seconds"] / reportlab_results[1_000]["render_seconds"]
        )
        print(
            f"  t(10k) / t(1k): {scaling:.1f} "
            f"(goal <= {GOAL_SCALING:.0f}: {_verdict(scaling <= GOAL_SCALING)})"
        )
    if 10_000 in reportlab_results:
        peak = reportlab_results[10_000]["max_rss_mb"]
        print(
            f"  peak memory at 10,000 holdings (max RSS of the worker): {peak:.0f} MB "
            f"(goal < {GOAL_PEAK_MB:.0f} MB: {_verdict(peak < GOAL_PEAK_MB)})"
        )
    if failed:
        sys.exit(f"{failed} measurement(s) failed: see above")


if __name__ == "__main__":
    main()
