"""Tests of model.runs.plots on a small synthetic tidy results table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib._pylab_helpers import Gcf
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection

from model.runs import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
YEARS = list(range(2012, 2019))
REGIONS = ["Akmola", "Karaganda", "Kostanay", "North Kazakhstan", "Astana city", "Almaty city"]
AGES = {"age=0-15": 0.2, "age=16-62": 0.72, "age=63+": 0.08}
FIGURES = ["emigrants.png", "net_migration.png", "choices.png", "emigrants_by_age.png",
           "emigrants_by_region.png", "population.png"]


def make_series(scenarios: tuple[str, ...] = ("baseline", "high_wages"),
                replicates: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows: list[tuple] = []
    for s_i, scen in enumerate(scenarios):
        for rep in range(1, replicates + 1):
            seed = 1000 * s_i + rep
            for t, year in enumerate(YEARS):
                key = (scen, rep, seed, year)

                def add(metric: str, group: str, value: float, key: tuple = key) -> None:
                    rows.append((*key, metric, group, float(value)))

                noise = rng.normal(1.0, 0.05)
                emig = (24000 + 3000 * t) * noise * (1.0 - 0.15 * s_i)
                imm = 23000 - 1500 * t
                add("population", "all", 16.67e6 * 1.014 ** t)
                add("new_emigrants", "all", emig)
                add("new_immigrants", "all", imm)
                add("net_migration", "all", imm - emig)
                add("new_labour_migrants", "all", 9000 * noise + 400 * t)
                add("new_students_abroad", "all", 7000 * noise + 600 * t)
                add("n_labour_abroad", "all", 30000 + 5000 * t * noise)
                add("n_students_abroad", "all", 40000 + 7000 * t * noise)
                add("share_intending", "all", 0.08 + 0.005 * t)
                for group, share in AGES.items():
                    add("new_emigrants", group, emig * share)
                weights = np.linspace(2.0, 0.5, len(REGIONS))
                for region, w in zip(REGIONS, weights / weights.sum(), strict=True):
                    add("new_emigrants", f"region={region}", emig * w)
    return pd.DataFrame(rows, columns=["scenario", "replicate", "seed", "year", "metric",
                                       "group", "value"])


def make_observed() -> pd.DataFrame:
    return pd.DataFrame({
        "year": [2013, 2014, 2015, 2016, 2017, 2018, 2014, 2015, 2016],
        "metric": ["new_emigrants"] * 6 + ["net_migration"] * 3,
        "value": [24384.0, 29000.0, 30000.0, 34965.0, 37704.0, 41894.0,
                  -12162.0, -13466.0, -21145.0],
        "quality": "official (BNS)",
    })


@pytest.fixture(scope="module")
def series() -> pd.DataFrame:
    return make_series()


def assert_png(path: Path) -> None:
    assert path.is_file()
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_MAGIC


def test_write_run_figures_writes_all_pngs(series: pd.DataFrame, tmp_path: Path) -> None:
    outdir = tmp_path / "figs" / "nested"
    paths = plots.write_run_figures(series, outdir, observed=make_observed())
    assert [p.name for p in paths] == FIGURES
    for p in paths:
        assert p.parent == outdir
        assert_png(p)
    assert sorted(f.name for f in outdir.iterdir()) == sorted(FIGURES)


def test_write_run_figures_leaves_no_pyplot_figures(series: pd.DataFrame,
                                                    tmp_path: Path) -> None:
    before = len(Gcf.get_all_fig_managers())
    plots.write_run_figures(series, tmp_path)
    assert len(Gcf.get_all_fig_managers()) == before


def test_write_run_figures_skips_absent_metrics(series: pd.DataFrame, tmp_path: Path) -> None:
    slim = series[~series["metric"].isin(["net_migration", "population"])
                  & ~series["group"].str.startswith("region=")]
    paths = plots.write_run_figures(slim, tmp_path, observed=make_observed())
    names = [p.name for p in paths]
    assert names == ["emigrants.png", "choices.png", "emigrants_by_age.png"]
    assert not (tmp_path / "net_migration.png").exists()
    assert not (tmp_path / "emigrants_by_region.png").exists()
    for p in paths:
        assert_png(p)


def test_write_run_figures_nothing_known(tmp_path: Path) -> None:
    other = make_series(replicates=1)
    other = other[other["metric"] == "share_intending"]
    assert plots.write_run_figures(other, tmp_path) == []


def test_single_scenario_single_replicate(tmp_path: Path) -> None:
    one = make_series(scenarios=("baseline",), replicates=1)
    paths = plots.write_run_figures(one, tmp_path)
    assert [p.name for p in paths] == FIGURES
    ax = plots.fan(one, "new_emigrants")
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(ax.get_lines()) == 1


def test_fan_draws_observed_points(series: pd.DataFrame) -> None:
    obs = make_observed()
    ax = plots.fan(series, "new_emigrants", observed=obs)
    assert isinstance(ax, Axes)
    want = obs.loc[obs["metric"] == "new_emigrants", "year"].to_numpy(dtype=float)
    observed_lines = [ln for ln in ax.get_lines() if ln.get_label() == "observed (BNS)"]
    assert len(observed_lines) == 1
    np.testing.assert_array_equal(np.asarray(observed_lines[0].get_xdata(), float), want)
    assert observed_lines[0].get_color() == "black"
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "observed (BNS)" in legend_texts
    n = series["replicate"].nunique()
    assert {f"baseline (median of {n} replicates)",
            f"high_wages (median of {n} replicates)"} <= set(legend_texts)


def test_fan_bands_per_scenario(series: pd.DataFrame) -> None:
    ax = plots.fan(series, "new_emigrants")
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2 * 2  # 50% and 90% bands for two scenarios
    assert len(ax.get_lines()) == 2


def test_fan_observed_only_for_group_all(series: pd.DataFrame) -> None:
    ax = plots.fan(series, "new_emigrants", group="age=16-62", observed=make_observed())
    assert not [ln for ln in ax.get_lines() if ln.get_label().startswith("observed")]
    assert "age 16-62" in ax.get_title()


def test_fan_share_metric_percent_axis(series: pd.DataFrame) -> None:
    ax = plots.fan(series, "share_intending")
    assert "%" in ax.get_ylabel()
    assert ax.yaxis.get_major_formatter()(0.1, 0).startswith("10")


def test_fan_persons_thousands(series: pd.DataFrame) -> None:
    ax = plots.fan(series, "new_emigrants")
    assert "thousands" in ax.get_ylabel()
    fmt = ax.yaxis.get_major_formatter()
    fmt.set_locs([0.0, 5000.0, 10000.0])
    assert fmt(25000.0, 0) == "25"
    assert fmt(-5000.0, 0) == "\N{MINUS SIGN}5"
    pop = plots.fan(series, "population")
    assert "millions" in pop.get_ylabel()
    fmt = pop.yaxis.get_major_formatter()
    fmt.set_locs([16.8e6, 17.0e6, 17.2e6])
    assert fmt(18e6, 0) == "18.0"


def test_fan_uses_given_axes(series: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plots.fan(series, "population", ax=ax) is ax


def test_fan_absent_metric_raises(series: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="births"):
        plots.fan(series, "births")


def test_missing_column_raises(series: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="group"):
        plots.fan(series.drop(columns="group"), "new_emigrants")


def test_choices_two_panels(series: pd.DataFrame) -> None:
    flows, stocks = plots.choices(series)
    assert flows is not stocks
    assert flows.figure.get_suptitle().startswith("Choices each year")
    assert len(flows.get_lines()) == 3
    assert len(stocks.get_lines()) == 2
    assert flows.get_legend().get_title().get_text().startswith("stay in Kazakhstan:")


def test_choices_single_axes_dashed_stocks(series: pd.DataFrame) -> None:
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    flows, stocks = plots.choices(series, ax=ax, scenario="high_wages")
    assert flows is stocks is ax
    styles = [ln.get_linestyle() for ln in ax.get_lines()]
    assert styles.count("--") == 2
    with pytest.raises(ValueError, match="unknown scenario"):
        plots.choices(series, scenario="nope")


def test_by_group_region_bars_sorted(series: pd.DataFrame) -> None:
    ax = plots.by_group(series, "new_emigrants", "region=")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == REGIONS  # weights decrease along REGIONS, largest on top
    assert "total 2012–2018" in ax.get_title()


def test_by_group_age_kinds(series: pd.DataFrame) -> None:
    ax = plots.by_group(series, "new_emigrants", "age=", kind="lines")
    assert len(ax.get_lines()) == 3 * 2
    ax = plots.by_group(series, "new_emigrants", "age=", kind="stacked")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["63+", "16-62", "0-15"]  # top of the stack first
    with pytest.raises(ValueError, match="kind"):
        plots.by_group(series, "new_emigrants", "age=", kind="pie")
    with pytest.raises(ValueError, match="edu="):
        plots.by_group(series, "new_emigrants", "edu=")


def test_tick_labels_write_every_tick_exactly():
    from model.runs.plots import _ScaledFormatter

    fmt = _ScaledFormatter(1e6)
    for locs, want in [([16.5e6, 16.75e6, 17.0e6, 17.25e6], ["16.50", "16.75", "17.00", "17.25"]),
                       ([0, 5e6, 10e6], ["0", "5", "10"]),
                       ([0.1e6, 0.2e6, 0.3e6], ["0.1", "0.2", "0.3"])]:
        fmt.set_locs(locs)
        assert [fmt(x) for x in locs] == want


def test_single_scenario_band_swatch_has_the_band_colour():
    from matplotlib.patches import Patch

    from model.runs import plots

    rows = [{"scenario": "baseline", "replicate": r, "seed": r, "year": y,
             "metric": "new_emigrants", "group": "all", "value": 1000.0 * r + y}
            for r in (1, 2, 3) for y in (2012, 2013, 2014)]
    ax = plots.fan(pd.DataFrame(rows), "new_emigrants")
    legend = ax.get_legend()
    patches = [h for h in legend.legend_handles if isinstance(h, Patch)]
    band = ax.collections[0].get_facecolor()[0][:3]
    assert patches and all(tuple(p.get_facecolor()[:3]) == tuple(band) for p in patches)
    texts = [t.get_text() for t in legend.get_texts()]
    assert "simulation (baseline): median of 3 replicates" in texts
