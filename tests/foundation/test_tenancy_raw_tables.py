"""The tenant filter reaches ORM entities only: a statement on a table itself
(``select(func.count()).select_from(Portfolio.__table__)``, ``text("... FROM portfolios")``)
runs unfiltered, for every organisation. The code has none; this keeps it so, without a check
on every query."""

import ast
import re
from pathlib import Path

from sqlmodel import SQLModel

import hrdd.models_registry  # noqa: F401  (every table mapped)
from hrdd.db import SharedOrTenantOwned, TenantOwned

SOURCE = Path(__file__).resolve().parents[2] / "src" / "hrdd"
# How code reaches a mapped class's table rather than the class.
TABLE_ATTRIBUTES = {"__table__", "local_table", "persist_selectable", "mapped_table"}
# SQLAlchemy's ways to name a table, or write SQL, without a mapped class.
TABLE_CONSTRUCTORS = {"table", "Table"}
RAW_SQL_CALLS = {"text", "exec_driver_sql"}
# Uses that query nothing, by file and the line's text, with why.
ALLOWED = {
    (
        "evidence/service.py",
        "return {column.key: getattr(row, column.key) for column in type(row).__table__.columns}",
    ): "the column names of a loaded row, for its API form",
}


def _tenant_tables() -> set[str]:
    return {
        mapper.local_table.name
        for mapper in SQLModel._sa_registry.mappers
        if issubclass(mapper.class_, TenantOwned | SharedOrTenantOwned)
    }


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _raw_table_uses(path: Path, tenant_tables: re.Pattern[str], root: Path) -> list[str]:
    text = path.read_text()
    lines = text.splitlines()
    name = path.relative_to(root).as_posix()
    found = []
    for node in ast.walk(ast.parse(text, str(path))):
        line = getattr(node, "lineno", 0)
        if (name, lines[line - 1].strip() if line else "") in ALLOWED:
            continue
        where = f"{name}:{line}"
        if isinstance(node, ast.Attribute) and node.attr in TABLE_ATTRIBUTES:
            found.append(f"{where} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [
                f"{where} imports {a.name}" for a in node.names if a.name in TABLE_CONSTRUCTORS
            ]
        elif isinstance(node, ast.Call) and _called_name(node) in RAW_SQL_CALLS:
            strings = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)]
            if any(isinstance(s, str) and tenant_tables.search(s) for s in strings):
                found.append(f"{where} raw SQL on a tenant table")
    return found


def test_no_statement_reaches_a_tenant_table_past_the_filter():
    tables = _tenant_tables()
    assert {"portfolios", "companies", "api_keys"} <= tables
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, tables))) + r")\b", re.I)
    found = [
        use
        for path in sorted(SOURCE.rglob("*.py"))
        for use in _raw_table_uses(path, pattern, SOURCE)
    ]
    assert found == [], "query the mapped classes, which the tenant filter sees"


def test_the_check_finds_raw_table_queries(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy import func, select, table, text\n"
        "a = select(func.count()).select_from(Portfolio.__table__)\n"
        "b = text('SELECT count(*) FROM portfolios')\n"
        "c = text('SELECT version_num FROM alembic_version')\n"
    )
    found = _raw_table_uses(sample, re.compile(r"\bportfolios\b"), tmp_path)
    assert sorted(use.split(" ", 1)[1] for use in found) == [
        ".__table__",
        "imports table",
        "raw SQL on a tenant table",
    ]
