"""No outcome figure for 2019 or later in the shipped data or the calibration targets.

The years from 2019 on are kept for out-of-sample validation: emigrants, immigrants,
balances, births, deaths, population and their structure for those years must not enter the
project, its tests or its tuning. Driver series (income, GRP, prices, exchange rates, wages,
life ladder) may run past 2018; those files are named in ``DRIVER_FILES`` with the reason.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_HELD_OUT = 2019
"""The first year kept for validation."""

DRIVER_FILES = {
    "comparators_gdp_per_capita_2005_2023.csv":
        "GDP per person and exchange rates of Kazakhstan and its destinations (drivers)",
    "comparators_life_ladder_whr_2005_2020.csv":
        "life ladder (Gallup via the World Happiness Report), the optimism driver",
    "kz_exchange_rates_russia_wage_2005_2023.csv":
        "exchange rates and the average wage in Russia (drivers of the wage gap)",
    "kz_grp_by_region_2000_2024.csv": "gross regional product per person (driver)",
    "kz_income_per_capita_by_region_2000_2020.csv":
        "money income per person by region (driver)",
}
"""Files that may hold figures of FIRST_HELD_OUT or later: driver series only, with why."""

EXCEPTIONS = {
    ("kz_migration_targets.csv", "survey_plan_to_move_abroad", 2019):
        "survey of intentions with fieldwork about January 2019 (Strategy Foundation via "
        "CABAR 2019): the intentions held at the end of 2018, compared with the model's "
        "intentions of 2018 (target share_intending.proportion.all.2018.survey), not a "
        "count of emigrants, immigrants, births, deaths or population",
}
"""Single rows of outcome files that are allowed, by (file, indicator, year), with why."""

YEAR_COLUMNS = ("year", "census_year", "date", "reference_date")
"""Columns whose values state the year of a row's figure."""
_YEAR_IN_VALUE = re.compile(r"^\s*((?:19|20)\d\d)")
_YEAR_NAMED = re.compile(r"(?:^|[_ ])((?:19|20)\d\d)$")  # "2019", "pop_2019", "value 2019"


def data_files() -> list[Path]:
    """Every CSV of model/data/kz/ and of calibration/ (targets and anything else)."""
    return sorted([*(ROOT / "model" / "data" / "kz").glob("*.csv"),
                   *(ROOT / "calibration").rglob("*.csv")])


def late_figures(path: Path, first: int = FIRST_HELD_OUT) -> list[str]:
    """Where ``path`` holds a figure of year ``first`` or later: one line per finding.

    A row's year is the leading year of its ``year``-like column (``2020-01-01``,
    ``2021 census``); a column named by a year (``2019``, ``pop_2019``) holds that year's
    figures wherever it is not empty. Rows listed in ``EXCEPTIONS`` are skipped.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "x.csv"
    ...     _ = p.write_text("year,value\\n2018,1\\n2019,2\\n")
    ...     late_figures(p)
    ['x.csv row 3: year 2019']
    """
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        named = {c: int(m.group(1)) for c in columns if (m := _YEAR_NAMED.search(c.strip()))}
        found = [f"{path.name}: column '{c}' is named by year {y}"
                 for c, y in named.items() if y >= first]
        late_columns = [c for c, y in named.items() if y >= first]
        for line, row in enumerate(reader, start=2):
            if any((row.get(c) or "").strip() for c in late_columns):
                found.append(f"{path.name} row {line}: a value in a column of {first}+")
            for c in YEAR_COLUMNS:
                m = _YEAR_IN_VALUE.match(row.get(c) or "")
                if not m or int(m.group(1)) < first:
                    continue
                key = (path.name, row.get("indicator") or row.get("metric"), int(m.group(1)))
                if key not in EXCEPTIONS:
                    found.append(f"{path.name} row {line}: {c} {m.group(1)}")
    return found


@pytest.mark.parametrize("path", data_files(), ids=lambda p: p.name)
def test_outcome_files_stop_before_the_held_out_years(path):
    if path.name in DRIVER_FILES:
        pytest.skip(f"driver series: {DRIVER_FILES[path.name]}")
    assert late_figures(path) == []


def test_every_file_is_checked_and_the_lists_name_shipped_files():
    names = {p.name for p in data_files()}
    assert "kz_2012_2018.csv" in names and len(names) > 15  # the globs still find the data
    assert set(DRIVER_FILES) <= names, "an allow-listed driver file no longer exists"
    assert {f for f, _, _ in EXCEPTIONS} <= names


def test_the_check_finds_a_late_row_in_a_copy(tmp_path):
    # an outcome file with its rows unchanged passes; the same file with a 2019 row fails
    src = ROOT / "model" / "data" / "kz" / "kz_population_national_2000_2018.csv"
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    assert late_figures(copy) == []
    lines = copy.read_text(encoding="utf-8").splitlines()
    copy.write_text("\n".join([*lines, "2019" + lines[-1][4:]]) + "\n", encoding="utf-8")
    assert late_figures(copy) == [f"{src.name} row {len(lines) + 1}: year 2019"]


@pytest.mark.parametrize(("header", "row", "expected"), [
    ("date,region,population", "2020-01-01,Almaty,1", "row 2: date 2020"),
    ("region,value,reference_date", "RK,32,2021 census", "row 2: reference_date 2021"),
    ("region,pop_2018,pop_2019", "RK,1,2", "row 2: a value in a column of 2019+"),
])
def test_the_check_reads_dates_census_labels_and_year_named_columns(tmp_path, header, row,
                                                                     expected):
    p = tmp_path / "t.csv"
    p.write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert any(f.endswith(expected) for f in late_figures(p))


def test_an_exception_covers_only_its_own_row(tmp_path):
    p = tmp_path / "kz_migration_targets.csv"
    p.write_text("year,indicator,value\n2019,survey_plan_to_move_abroad,10\n"
                 "2019,emigrants_total,40000\n", encoding="utf-8")
    assert late_figures(p) == ["kz_migration_targets.csv row 3: year 2019"]
