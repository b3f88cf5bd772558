"""Build ``kz_2012_2018.csv`` from the project's data collection (``shared/data/kz/``).

Run from the repository root with the collection's folder as the argument::

    python calibration/targets/build_kz_2012_2018.py ../shared/data/kz

Every target row is read from one file of the collection (its name and line are kept in
``source_file`` and ``source_row``; a share computed from two figures names both lines),
with the file's ``source`` and ``quality`` text. Nothing is typed in by hand except the
observation-error rule of each row (README.md, "Observation errors"), the flags and the
notes. Figures for 2019 or later are never copied; where a copied source text quotes
one, that part of the text is replaced by ``[later years omitted]``.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

OUT = Path(__file__).with_name("kz_2012_2018.csv")
YEARS = range(2012, 2019)
COLUMNS = ["target_id", "year", "metric", "group", "kind", "value", "unit", "period",
           "error_model", "error_sd", "by_construction", "fitted", "source_file",
           "source_row", "source", "quality", "note"]

# ---- observation-error rules (README.md, "Observation errors"); never tuned to the model
OFFICIAL_REL = 0.01        # official BNS count: registration and revision noise
COUNT_FLOOR = 100          # ... but never below 100 persons
BALANCE_FLOOR = 500        # official balance: 1% of the gross flows (37-55 thousand)
SECONDARY_REL = 0.03       # exact official count copied by a secondary report
ROUND_STEP = 1000          # figures rounded to thousands: uniform error of one step
APPROX_REL = 0.05          # "almost 230 thousand" and similar approximate figures
FULL_YEAR_SHARE = 0.01     # full-year share from a secondary report (transcription)
PART_YEAR_SHARE = 0.02     # part of the year stands for the whole year (composition)
DEFINITION = 0.03          # the source's group is not exactly the model's group
UNVERIFIED_SHARE = 0.05    # share from a secondary text not re-verified
UIS_REL = 0.10             # UNESCO UIS outbound students (host-country reports)
UIS_EST_REL = 0.20         # ... in years UIS flags as its own estimate
EEC_REL = 0.50             # EEC labour migrants via CABAR: second-hand, unverified
SURVEY_N = 1000            # assumed respondents of a national survey (not stated)
SURVEY_EXTRA = 0.04        # second-hand, "every tenth", wording unknown


class Collection:
    """The CSV files of the collection, with the line number of every record."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._files: dict[str, list[tuple[int, dict]]] = {}

    def rows(self, name: str) -> list[tuple[int, dict]]:
        """``(line, record)`` of every record of a file (the header is line 1)."""
        if name not in self._files:
            with open(self.folder / name, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                self._files[name] = [(reader.line_num, row) for row in reader]
        return self._files[name]

    def find(self, name: str, **equal) -> tuple[int, dict]:
        """The one record of a file whose columns equal ``equal``, with its line."""
        hits = [(n, r) for n, r in self.rows(name)
                if all(r[k] == str(v) for k, v in equal.items())]
        if len(hits) != 1:
            raise SystemExit(f"{name}: {len(hits)} rows match {equal}, expected 1")
        return hits[0]

    def target(self, year: int, indicator: str, breakdown: str) -> tuple[int, dict]:
        """The one record of ``kz_migration_targets.csv`` of this year and indicator."""
        return self.find("kz_migration_targets.csv", year=year, indicator=indicator,
                         breakdown=breakdown)


_LATER = re.compile(r"(?<![\d-])(?:20(?:19|[2-9]\d))(?![\d-])")


def clean(text: str, cuts: tuple[str, ...] = ()) -> str:
    """Source text with the quoted figures of 2019 or later removed.

    ``cuts`` are regular expressions of the parts; they match the figures by shape so that
    this file does not quote them itself.
    """
    for cut in cuts:
        text, n = re.subn(cut, "[later years omitted]", text)
        if n != 1:
            raise SystemExit(f"text to omit found {n} times, not once: {cut!r}")
    return text


def main(folder: Path) -> None:
    """Read the collection in ``folder`` and write :data:`OUT`."""
    data = Collection(folder)
    out: list[dict] = []
    T = "kz_migration_targets.csv"

    def add(year, metric, group, kind, value, unit, period, error_model, error_sd,
            src_file, src_row, source, quality, note="", by_construction=False,
            fitted=True):
        kind_of_period, _, detail = period.partition(":")
        part = {"full_year": "", "survey": ".survey"}.get(kind_of_period, "." + detail)
        tid = f"{metric}.{kind}.{group}.{year}{part}"
        # a by-construction row is reported, never fitted
        fitted = fitted and not by_construction
        out.append({"target_id": tid, "year": year, "metric": metric, "group": group,
                    "kind": kind, "value": f"{value:.6g}" if kind in ("share", "proportion")
                    else f"{value:.0f}", "unit": unit, "period": period,
                    "error_model": error_model, "error_sd": f"{error_sd:g}",
                    "by_construction": str(by_construction).lower(),
                    "fitted": str(fitted).lower(), "source_file": src_file,
                    "source_row": src_row, "source": source, "quality": quality,
                    "note": note})

    # ---------------------------------------------------------------- emigrants, full year
    exact = {2013: (), 2016: (), 2017: (), 2018: (r"; 2019 - about \d+k",)}
    for year in (2013, 2014, 2015, 2016, 2017, 2018):
        n, r = data.target(year, "emigrants", "period=full_year")
        value = float(r["value"])
        cuts = exact.get(year, ())
        if year == 2015:
            cuts = (r"; by end of 2019 up \d+% to [\d.]+ thousand",)
        source = clean(r["source"], cuts)
        if year in exact:
            add(year, "new_emigrants", "all", "count", value, "persons", "full_year",
                "normal_rel", SECONDARY_REL, T, str(n), source, r["quality"],
                "exact official count in a secondary report: 3%")
        else:
            add(year, "new_emigrants", "all", "count", value, "persons", "full_year",
                f"rounded:{ROUND_STEP}", SECONDARY_REL, T, str(n), source, r["quality"],
                "rounded to thousands: 3% plus a uniform rounding error of 1,000")
    n, r = data.target(2018, "emigrants_cumulative", "period=2012-2018")
    add(2018, "new_emigrants", "all", "count", float(r["value"]), "persons",
        "sum:2012-2018", "normal_rel", APPROX_REL, T, str(n), r["source"], r["quality"],
        "emigrants of 2012-2018 together ('almost 230 thousand'); the only full-year figure "
        "that includes 2012, but it overlaps the yearly rows 2013-2018, so it is not fitted "
        "by default (a study may use it in their place)", fitted=False)

    # ---------------------------------------------------------------- official balances
    for year in YEARS:
        n, r = data.target(year, "net_migration_balance",
                           "geo=Kazakhstan;flow=external(permanent-residence registrations);"
                           "period=full_year")
        if year == 2012:
            note = ("fitted: the model's 2012 immigrants are the registry estimate "
                    "immigrants_2012 (the official balance plus 2012 emigrants estimated from "
                    "January-July), so this row tests the model's 2012 emigration against "
                    "that estimate")
            fitted = True
        else:
            note = ("not fitted: the model's immigrants of this year are the emigrants "
                    "figure plus this balance, so the model's net migration misses this "
                    "row by exactly the emigrant row's miss (counting both would count it "
                    "twice)")
            fitted = False
        add(year, "net_migration", "all", "balance", float(r["value"]), "persons",
            "full_year", f"count:{BALANCE_FLOOR}", OFFICIAL_REL, T, str(n), r["source"],
            r["quality"], note, fitted=fitted)
    for year in YEARS:
        n, r = data.target(year, "natural_increase", "geo=Kazakhstan;period=full_year")
        add(year, "natural_increase", "all", "balance", float(r["value"]), "persons",
            "full_year", f"count:{COUNT_FLOOR}", OFFICIAL_REL, T, str(n), r["source"],
            r["quality"], "fitted: births (age-specific fertility, one level per region "
            "fitted to the mean births of 2012-2018) minus deaths (regional life tables "
            "solved from life expectancy) are both model outputs; the yearly balance is not "
            "an input")

    # ---------------------------------------------------------------- population, births, deaths
    for year in YEARS:
        n, r = data.target(year, "population", "geo=Kazakhstan;date=1_January")
        note = ("by construction: the synthetic population is built to this stock"
                if year == 2012 else
                "fitted: the start stock plus the model's births and deaths (outputs) and "
                "emigrants, and the official immigrants")
        add(year, "population", "all", "stock", float(r["value"]), "persons",
            "full_year", f"count:{COUNT_FLOOR}", OFFICIAL_REL, T, str(n), r["source"],
            r["quality"], "stock on 1 January; " + note, by_construction=year == 2012)
    bd = "kz_births_deaths_by_region_2000_2018.csv"
    for metric in ("births", "deaths"):
        for year in YEARS:
            n, r = data.find(bd, year=year, kato=0, metric=metric)
            note = ("official rule (1%): the national copy equals the sum of the official "
                    "regional rows exactly")
            fitted = True
            if metric == "births":
                note += ("; fitted: births come from age-specific fertility with one level "
                         "per region fitted to the mean crude birth rate 2012-2018, so the "
                         "yearly path and the national total are outputs")
            else:
                note += ("; fitted: the 2012 ages 12+ of each region are solved so that the "
                         "expected deaths of the synthetic population over 2012-2018 equal "
                         "the region's BNS deaths of 2012-2018 in total "
                         "(model.core.population.structure_counts): the level over the "
                         "window is an input, the yearly path is the output")
            add(year, metric, "all", "count", float(r["value"]), "persons", "full_year",
                f"count:{COUNT_FLOOR}", OFFICIAL_REL, bd, str(n), r["source"], r["quality"],
                note, fitted=fitted)

    # ---------------------------------------------------------------- immigrants (by construction)
    mig = "kz_external_migration_annual_2000_2018.csv"
    for year in range(2013, 2019):
        n, r = data.find(mig, year=year)
        value = float(r["immigrants"])
        rounded = "rounded" in r["immigrants_quality"]
        add(year, "new_immigrants", "all", "count", value, "persons", "full_year",
            f"rounded:{ROUND_STEP}" if rounded else "normal_rel", SECONDARY_REL, mig,
            str(n), f"{r['immigrants_source']} (see kz_migration_targets.csv)",
            r["immigrants_quality"], "by construction: the model's immigrants are this "
            "series (datasets.immigrants, the immigrants driver)", by_construction=True)

    # ---------------------------------------------------------------- students and labour abroad
    for year in YEARS:
        n, r = data.target(year, "tertiary_students_abroad_outbound",
                           "source=UNESCO UIS;level=ISCED5-8")
        est = r["quality"].startswith("estimate")
        add(year, "n_students_abroad", "all", "stock", float(r["value"]), "persons",
            "full_year", "normal_rel", UIS_EST_REL if est else UIS_REL, T, str(n),
            r["source"], r["quality"],
            "UIS counts tertiary students from Kazakhstan reported by host countries; the "
            "model's stock is on 31 December; "
            + ("20% (UIS estimate)" if est else "10%"))
    for year in (2012, 2018):
        n, r = data.target(year, "labour_migrants_from_KZ_in_EAEU", "source=CABAR_2019(EEC)")
        add(year, "new_labour_migrants", "all", "count", float(r["value"]), "persons",
            "full_year", "normal_rel", EEC_REL, T, str(n), r["source"], r["quality"],
            "EEC figure via CABAR 2019, read as a yearly flow (the article: the number "
            "'moving to work in the EEU countries'), compared with the model's labour "
            "migrants leaving in the year; 50%: second-hand and not re-verified. The "
            "2012 stock abroad is derived from the 2012 flow (flow over the yearly exit "
            "rate), so the 2012 flow itself is the model's own")

    # ---------------------------------------------------------------- destination shares
    def add_share(year, metric, group, p, period, n_den, extra, rows, source, quality,
                  note, **flags):
        # binomial sampling of the n_den emigrants behind the share, plus ``extra``
        add(year, metric, group, "share", p, "share", period, f"binomial:{n_den:.0f}",
            extra, T, rows, source, quality, note, **flags)

    for year, num_b, den_b in ((2012, "group=to_CIS;period=Jan-Jul", "period=Jan-Jul"),
                               (2013, "group=to_CIS;period=Jan-Jul", "period=Jan-Jul")):
        n1, r1 = data.target(year, "emigrants", num_b)
        n2, r2 = data.target(year, "emigrants", den_b)
        p = float(r1["value"]) / float(r2["value"])
        add_share(year, "new_emigrants", "destination=CIS", p, "part_year:Jan-Jul",
                  float(r2["value"]), PART_YEAR_SHARE, f"{n1};{n2}",
                  f"{r1['source']} | {r2['source']}", r1["quality"],
                  f"derived: {float(r1['value']):,.0f} / {float(r2['value']):,.0f}")
    n1, r1 = data.target(2017, "emigrants", "group=to_CIS;period=full_year")
    n2, r2 = data.target(2017, "emigrants", "period=full_year")
    p = float(r1["value"]) / float(r2["value"])
    add_share(2017, "new_emigrants", "destination=CIS", p, "full_year", float(r2["value"]),
              FULL_YEAR_SHARE, f"{n1};{n2}", r2["source"], r1["quality"],
              f"derived: {float(r1['value']):,.0f} / {float(r2['value']):,.0f}; registered "
              "emigrants only (settlers abroad are new_settlers_abroad, never compared)")
    n1, r1 = data.target(2018, "emigrants", "group=to_CIS;period=full_year")
    n3, r3 = data.target(2018, "emigrants", "group=to_non_CIS;period=full_year")
    tot = float(r1["value"]) + float(r3["value"])
    add_share(2018, "new_emigrants", "destination=CIS", float(r1["value"]) / tot,
              "full_year", tot, FULL_YEAR_SHARE, f"{n1};{n3}",
              f"{r1['source']} | {r3['source']}", r1["quality"],
              f"derived: {float(r1['value']):,.0f} / ({float(r1['value']):,.0f} + "
              f"{float(r3['value']):,.0f}), both rounded to hundreds")
    for year, b, den in ((2017, "group=to_CIS;period=Jan-Sep", "period=Jan-Sep"),
                         (2018, "group=to_CIS;period=Jan-Jun", "period=Jan-Jun")):
        n1, r1 = data.target(year, "emigrants_share", b)
        n2, r2 = data.target(year, "emigrants", den)
        part = den.split("=", 1)[1]
        add_share(year, "new_emigrants", "destination=CIS", float(r1["value"]) / 100.0,
                  f"part_year:{part}", float(r2["value"]), PART_YEAR_SHARE, f"{n1};{n2}",
                  r1["source"], r1["quality"],
                  f"{r1['value']} percent in the source; not fitted: the full-year share "
                  "of the same year is a target", fitted=False)

    # ---------------------------------------------------------------- ethnicity shares
    for year in (2012, 2013):
        n2, r2 = data.target(year, "emigrants", "period=Jan-Jul")
        for eth in ("German", "Russian", "Ukrainian"):
            n1, r1 = data.target(year, "emigrants_share", f"ethnicity={eth};period=Jan-Jul")
            add_share(year, "new_emigrants", f"ethnicity={eth}", float(r1["value"]) / 100.0,
                      "part_year:Jan-Jul", float(r2["value"]), PART_YEAR_SHARE,
                      f"{n1};{n2}", r1["source"], r1["quality"],
                      f"{r1['value']} percent in the source; binomial n = the "
                      f"January-July emigrants ({float(r2['value']):,.0f})")
    n2, r2 = data.target(2017, "emigrants", "period=Jan-Sep")
    jan_sep = float(r2["value"])
    for eth in ("German", "Kazakh", "Russian", "Tatar", "Ukrainian"):
        n1, r1 = data.target(2017, "emigrants", f"ethnicity={eth};period=Jan-Sep")
        add_share(2017, "new_emigrants", f"ethnicity={eth}", float(r1["value"]) / jan_sep,
                  "part_year:Jan-Sep", jan_sep, PART_YEAR_SHARE, f"{n1};{n2}",
                  f"{r1['source']} | {r2['source']}", r1["quality"],
                  f"derived: {float(r1['value']):,.0f} / {jan_sep:,.0f} (January-September "
                  "emigrants)")

    # ---------------------------------------------------------------- age and education
    ages = (("under_15", "age=0-15", "the source's 'under_15' is read as below working age "
             "(0-15)"),
            ("working_age", "age=16-62", "official working age differs by sex; the model's "
             "16-62 band is close, not equal"),
            ("pensioners", "age=63+", "official pension age differs by sex; the model's 63+ "
             "band is close, not equal"))
    extra = math.hypot(PART_YEAR_SHARE, DEFINITION)
    for label, group, why in ages:
        n1, r1 = data.target(2017, "emigrants_share", f"age_group={label};period=Jan-Sep")
        add_share(2017, "new_emigrants", group, float(r1["value"]) / 100.0,
                  "part_year:Jan-Sep", jan_sep, round(extra, 4), f"{n1};{n2}",
                  r1["source"], r1["quality"],
                  f"{r1['value']} percent in the source; {why}: part-year 2 points and "
                  "definition 3 points in quadrature")
    n1, r1 = data.target(2018, "emigrants_share", "age_group=minors;source=CABAR_2019")
    add(2018, "new_emigrants", "age=0-15", "share", float(r1["value"]) / 100.0, "share",
        "full_year", "normal_abs", UNVERIFIED_SHARE, T, str(n1),
        clean(r1["source"], (r" and [\d./=]+% in Jan-Sep 2019",)), r1["quality"],
        "25 percent in the source, period not stated; not fitted: minors are under 18, "
        "the model's youngest band is 0-15", fitted=False)
    n1, r1 = data.target(2017, "emigrants_share", "education=higher;source=CABAR_2019")
    add(2017, "new_emigrants", "edu=higher", "share", float(r1["value"]) / 100.0, "share",
        "full_year", "normal_abs", UNVERIFIED_SHARE, T, str(n1), r1["source"],
        r1["quality"], "29.9 percent of all emigrants (children included) in the source, "
        "unverified: 5 points; the source's count 11,290 is the same figure and is left out")

    # ---------------------------------------------------------------- regional shares
    n2, r2 = data.target(2013, "emigrants", "period=Jan-Jul")
    for region in ("Karaganda", "North Kazakhstan"):
        n1, r1 = data.target(2013, "emigrants", f"region={region};period=Jan-Jul")
        add_share(2013, "new_emigrants", f"region={region}",
                  float(r1["value"]) / float(r2["value"]), "part_year:Jan-Jul",
                  float(r2["value"]), PART_YEAR_SHARE, f"{n1};{n2}",
                  f"{r1['source']} | {r2['source']}", r1["quality"],
                  f"derived: {float(r1['value']):,.0f} / {float(r2['value']):,.0f} "
                  "(January-July emigrants)")
    n2, r2 = data.target(2017, "emigrants", "period=Jan-Sep")
    for region in ("Akmola", "Almaty city", "East Kazakhstan", "Karaganda", "Kostanay",
                   "North Kazakhstan", "Pavlodar"):
        n1, r1 = data.target(2017, "emigrants", f"region={region};period=Jan-Sep")
        add_share(2017, "new_emigrants", f"region={region}", float(r1["value"]) / jan_sep,
                  "part_year:Jan-Sep", jan_sep, PART_YEAR_SHARE, f"{n1};{n2}",
                  f"{r1['source']} | {r2['source']}", r1["quality"],
                  f"derived: {float(r1['value']):,.0f} / {jan_sep:,.0f} (January-September "
                  "emigrants)")

    # ---------------------------------------------------------------- immigrants' structure
    for year, den in ((2012, "period=Jan-Jul"), (2013, "period=Jan-Jul")):
        n1, r1 = data.target(year, "immigrants_share", f"ethnicity=Kazakh;{den}")
        n2, r2 = data.target(year, "immigrants", den)
        add_share(year, "new_immigrants", "ethnicity=Kazakh", float(r1["value"]) / 100.0,
                  "part_year:Jan-Jul", float(r2["value"]), PART_YEAR_SHARE, f"{n1};{n2}",
                  r1["source"], r1["quality"],
                  f"{r1['value']} percent in the source; by construction: the registry's "
                  "immigrant_kazakh_share" + ("_2012" if year == 2012 else "")
                  + " copies it", by_construction=True)
    n1, r1 = data.target(2017, "immigrants_share", "education=higher;source=CABAR_2019")
    add(2017, "new_immigrants", "edu=higher", "share", float(r1["value"]) / 100.0, "share",
        "full_year", "normal_abs", UNVERIFIED_SHARE, T, str(n1), r1["source"],
        r1["quality"], "17.5 percent of all arrivals in the source; by construction: the "
        "registry's immigrant_higher_share copies it, but applies it to arrivals aged "
        "higher_age and over, so the model's all-ages share is lower",
        by_construction=True)

    # ---------------------------------------------------------------- intentions (survey)
    n1, r1 = data.target(2019, "survey_plan_to_move_abroad",
                         "survey=Strategy Foundation (Almaty);fieldwork=~Jan 2019")
    p = float(r1["value"]) / 100.0
    add(2018, "share_intending", "all", "proportion", p, "share",
        "survey:fieldwork ~January 2019", f"binomial:{SURVEY_N}", SURVEY_EXTRA, T, str(n1),
        r1["source"], r1["quality"],
        "a survey of intentions, not an outcome count: fieldwork about January 2019, "
        "compared with the model's intentions of 2018 (its last year); 10 percent "
        "('every tenth') second-hand: binomial with an assumed 1,000 respondents plus 4 "
        "points for the approximate figure and unknown wording")

    for row in out:
        for col in ("source", "note"):
            for hit in _LATER.finditer(row[col]):
                context = row[col][max(0, hit.start() - 40):hit.end() + 20]
                print(f"check {row['target_id']} {col}: ...{context}...", file=sys.stderr)
    ids = [r["target_id"] for r in out]
    assert len(ids) == len(set(ids)), "duplicate target ids"
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(out)
    print(f"{OUT}: {len(out)} targets")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
