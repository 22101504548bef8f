"""The report benchmark builds its portfolio from the report model directly: when the model
gains a required field, the benchmark must fail here, not silently print no figures."""

import importlib.util
import io

from hrdd.config import PROJECT_ROOT


def test_the_report_benchmarks_generated_portfolio_still_fits_the_model_and_renders():
    spec = importlib.util.spec_from_file_location(
        "bench_reports", PROJECT_ROOT / "bench" / "bench_reports.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.generated_portfolio(30)
    assert len(report.holdings) == 30
    buffer = io.BytesIO()
    bench.render_portfolio_report(report, buffer)
    assert buffer.getvalue().startswith(b"%PDF")
