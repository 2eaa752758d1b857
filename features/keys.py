"""Keys across agencies: normalise and validate codes and names inside the engine, and report joins.

Agencies type the same key differently: full-width characters, blanks, hyphens, lower case,
"O" for "0", a company suffix bracketed or dropped, and real typos that break the check
character. The rules are those of ``pool.keys`` (credit code and ID check characters) and
``pool.names`` (organisation names), written as Ibis expressions so they run on DuckDB and Spark
alike. ``join_report`` counts, per source, the rows that attach to an entity and those that do
not, by reason; nothing is dropped without being counted.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis import _
from ibis.backends import BaseBackend

from features.engines import materialise
from features.spec import KeyJoin, KeyKind
from pool.defects import BRANCH_SUFFIXES, COMPANY_SUFFIXES
from pool.keys import ID_CHECK_CHARS, ID_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

_HALF = "".join(chr(c) for c in range(0x21, 0x7F))
_FULL = "".join(chr(c + 0xFEE0) for c in range(0x21, 0x7F))
_DIGITS = "0123456789"
#: Join statuses, in report order.
STATUSES: tuple[str, ...] = ("joined", "missing", "malformed", "invalid_check", "unknown_key")


def halfwidth(text: ir.StringValue) -> ir.StringValue:
    """Full-width ASCII variants (Ａ, １, －) mapped to their half-width forms."""
    return text.translate(_FULL, _HALF)


def normalise_code(raw: ir.StringValue) -> ir.StringValue:
    """Canonical credit code / ID number: half-width, no blanks or separators, upper, O->0, I->1.

    Mirrors ``pool.keys.normalise_code``; empty results become NULL.
    """
    text = halfwidth(raw.cast("string")).upper().re_replace(r"[\s\-_.\x{3000}]", "")
    text = text.translate("OI", "01")
    return ibis.ifelse(text.length() > 0, text, ibis.null("string"))


def normalise_name(raw: ir.StringValue) -> ir.StringValue:
    """Canonical organisation name: half-width, no blanks or brackets, no branch or legal suffix.

    Mirrors ``pool.names.normalise_name(..., drop_branch=True)``: a trailing branch word
    ("加油站", "分公司") names a site of the same company, which is the entity agencies mean.
    Regular-expression alternation takes the leftmost (so longest) suffix, as the pool does.
    """
    text = halfwidth(raw.cast("string")).re_replace(r"[\s\x{3000}()（）]", "")
    no_branch = text.re_replace(f"({_alternation(BRANCH_SUFFIXES)})$", "")
    text = ibis.ifelse(no_branch.length() > 0, no_branch, text)
    text = text.re_replace(f"({_alternation(COMPANY_SUFFIXES)})$", "")
    return ibis.ifelse(text.length() > 0, text, ibis.null("string"))


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


def _weighted_sum(code: ir.StringValue, alphabet: str, weights: tuple[int, ...]) -> ir.IntegerValue:
    lit = ibis.literal(alphabet)
    total = ibis.literal(0)
    for pos, weight in enumerate(weights):
        total = total + lit.find(code.substr(pos, 1)) * weight
    return total


def uscc_status(code: ir.StringValue) -> ir.StringValue:
    """'ok', 'missing', 'malformed' (length/alphabet) or 'invalid_check' for a normalised code."""
    allowed = "".join(USCC_ALPHABET)
    well_formed = code.re_search(f"^[{allowed}]{{18}}$")
    total = _weighted_sum(code, USCC_ALPHABET, USCC_WEIGHTS)
    expected = ibis.literal(USCC_ALPHABET).substr((31 - total % 31) % 31, 1)
    return _status(code, well_formed, code.substr(17, 1) == expected)


def id_status(code: ir.StringValue) -> ir.StringValue:
    """'ok', 'missing', 'malformed' or 'invalid_check' for a normalised resident ID number."""
    well_formed = code.re_search(r"^[0-9]{17}[0-9X]$")
    total = _weighted_sum(code, _DIGITS, ID_WEIGHTS)
    expected = ibis.literal(ID_CHECK_CHARS).substr(total % 11, 1)
    return _status(code, well_formed, code.substr(17, 1) == expected)


def _status(
    code: ir.StringValue, well_formed: ir.BooleanValue, check_ok: ir.BooleanValue
) -> ir.StringValue:
    return ibis.cases(
        (code.isnull(), "missing"),
        (~well_formed, "malformed"),
        (~check_ok, "invalid_check"),
        else_="ok",
    )


def upgrade_id15(code: ir.StringValue) -> ir.StringValue:
    """An old 15-digit ID number as its 18-character form (century 19 inserted, check added)."""
    body = code.substr(0, 6) + "19" + code.substr(6, 9)
    check = ibis.literal(ID_CHECK_CHARS).substr(_weighted_sum(body, _DIGITS, ID_WEIGHTS) % 11, 1)
    return ibis.ifelse(code.re_search(r"^[0-9]{15}$"), body + check, code)


def normalise(raw: ir.Value, kind: KeyKind) -> ir.StringValue:
    """The canonical form of a key of the given kind."""
    if kind == "id":
        return upgrade_id15(normalise_code(raw))
    if kind in ("uscc", "code"):
        return normalise_code(raw)
    if kind == "name":
        return normalise_name(raw)
    text = raw.cast("string").strip()
    return ibis.ifelse(text.length() > 0, text, ibis.null("string"))


def key_status(key: ir.StringValue, kind: KeyKind) -> ir.StringValue:
    """Validity of an already normalised key (check characters for codes)."""
    if kind == "uscc":
        return uscc_status(key)
    if kind == "id":
        return id_status(key)
    return ibis.ifelse(key.isnull(), "missing", "ok")


def normalise_sources(
    tables: Mapping[str, ir.Table],
    joins: tuple[KeyJoin, ...],
    con: BaseBackend | None = None,
) -> dict[str, ir.Table]:
    """Replace every declared key column (and each join target) by its canonical form.

    Invalid codes stay in the column (normalised) so the report can count them; they simply
    find no partner in a join. With ``con``, each raw -> canonical mapping is stored once in the
    engine, so neither the report nor the features recompute the string work.
    """
    out = dict(tables)
    todo: dict[str, dict[str, KeyKind]] = {}
    for join in joins:
        todo.setdefault(join.source, {})[join.column] = join.kind
        if join.target is not None:
            todo.setdefault(join.target[0], {}).setdefault(join.target[1], join.kind)
    for table, columns in todo.items():
        if table in out:
            t = out[table]
            for column, kind in columns.items():
                t = _normalise_column(t, column, kind, con)
            out[table] = t
    return out


def _normalise_column(
    table: ir.Table, column: str, kind: KeyKind, con: BaseBackend | None
) -> ir.Table:
    """Replace ``column`` by its canonical form, computed once per distinct raw value.

    Agencies repeat the same few thousand names and codes over millions of rows, so the string
    work runs on the distinct values only; that small raw -> canonical mapping is stored in the
    engine (``materialise``) and a hash join carries it back to every row.
    """
    raw = table.select(_raw=table[column]).distinct()
    mapping = raw.mutate(_norm=normalise(raw._raw, kind))
    if con is not None:
        mapping = materialise(con, mapping)
    joined = table.left_join(mapping, table[column] == mapping._raw)
    kept = [c for c in table.columns if c != column]
    return joined.select(*kept, **{column: joined._norm}).select(*table.columns)


def join_report(
    con: BaseBackend, tables: Mapping[str, ir.Table], joins: tuple[KeyJoin, ...]
) -> pd.DataFrame:
    """Per declared join: rows, how many attach to an entity, and why the others do not.

    ``tables`` are the raw sources (cut as of the date, not yet normalised): each distinct raw
    key is normalised and checked here. A key is "unknown_key" when
    it is valid but absent from the target column (e.g. a waybill for a station the registry
    does not list). All joins are counted in one query (one job on Spark).
    """
    if not joins:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    parts = [_join_counts(tables, i, join) for i, join in enumerate(joins)]
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    counts = con.execute(union)
    rows = []
    for i, join in enumerate(joins):
        mine = counts[counts["join_no"] == i]
        found = dict(zip(mine["status"], mine["n"].astype(int), strict=True))
        total = int(sum(found.values()))
        counted = {s: int(found.get(s, 0)) for s in STATUSES}
        row: dict[str, object] = {
            "source": join.source,
            "column": join.column,
            "kind": join.kind,
            "target": ".".join(join.target) if join.target else "",
            "rows": total,
            **counted,
            "join_rate": counted["joined"] / total if total else float("nan"),
        }
        rows.append(row)
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


REPORT_COLUMNS = ["source", "column", "kind", "target", "rows", *STATUSES, "join_rate"]


def _join_counts(tables: Mapping[str, ir.Table], number: int, join: KeyJoin) -> ir.Table:
    """Rows of one source by join status: (join_no, status, n).

    Works on the raw (not yet normalised) tables: rows are first counted per distinct raw key,
    and only those few values are normalised and checked.
    """
    src = tables[join.source]
    keys = src.group_by(raw=src[join.column]).aggregate(rows=src.count())
    keys = keys.mutate(key=normalise(keys.raw, join.kind))
    probe = keys.mutate(status=key_status(keys.key, join.kind))
    if join.target is not None:
        target = tables[join.target[0]]
        traw = target.select(traw=target[join.target[1]]).distinct()
        known = traw.select(tkey=normalise(traw.traw, join.kind)).filter(_.tkey.notnull())
        known = known.distinct()
        probe = probe.left_join(known, probe.key == known.tkey)
        final = ibis.ifelse(
            (probe.status == "ok") & probe.tkey.isnull(), "unknown_key", probe.status
        )
    else:
        final = probe.status
    final = ibis.ifelse(final == "ok", "joined", final)
    grouped = probe.group_by(status=final).aggregate(n=probe.rows.sum())
    return grouped.select(join_no=ibis.literal(number, "int64"), status="status", n="n")


def format_report(report: pd.DataFrame) -> str:
    """The join report as a plain table for the console."""
    if report.empty:
        return "(no joins declared)"
    shown = report.copy()
    shown["join_rate"] = shown["join_rate"].map(lambda r: f"{r:.1%}")
    return shown.to_string(index=False)
