"""The decision rule of one household at a time, in plain Python.

Written from the formulas of :mod:`model.core.decisions` (its module docstring) with
:mod:`math` and the parameter names, independently of the tables and arrays the model
uses: no numpy, no :class:`~model.core.decisions.UtilityTables`.
"""

from __future__ import annotations

import math

from model import datasets
from model.core.decisions import Context

NORTH = {"Akmola", "Karaganda", "East Kazakhstan", "Kostanay", "Pavlodar", "North Kazakhstan"}
COMPATRIOT = {"Russian", "Ukrainian", "Tatar"}
ETHNIC_PARAM = {"Kazakh": None, "Russian": "b_russian", "German": "b_german",
                "Ukrainian": "b_ukrainian", "Tatar": "b_tatar", "Uzbek": "b_other_ethnic",
                "Uighur": "b_other_ethnic", "Other": "b_other_group"}


class HouseholdRef:
    """One household, its utilities and nested-logit probabilities, in plain Python."""

    def __init__(self, region: str, ethnicity: str, head_age: int, head_higher: bool,
                 optimism: float, share_abroad: float, diaspora: bool, members: int,
                 children: bool, can_labour: bool, can_study: bool, region_index: int):
        self.region = region
        self.region_index = region_index
        self.ethnicity = ethnicity
        self.head_age = head_age
        self.head_higher = head_higher
        self.optimism = optimism
        self.share_abroad = share_abroad
        self.diaspora = diaspora
        self.members = members
        self.children = children
        self.can_labour = can_labour
        self.can_study = can_study

    @classmethod
    def from_choosers(cls, ch, i: int) -> HouseholdRef:
        return cls(region=datasets.REGIONS[int(ch.region[i])],
                   ethnicity=datasets.ETHNIC_GROUPS[int(ch.ethnicity[i])],
                   head_age=int(ch.head_age[i]), head_higher=bool(ch.head_higher[i]),
                   optimism=float(ch.optimism[i]), share_abroad=float(ch.share_abroad[i]),
                   diaspora=bool(ch.diaspora[i]), members=int(ch.members[i]),
                   children=bool(ch.children[i]), can_labour=bool(ch.can_labour[i]),
                   can_study=bool(ch.can_study[i]), region_index=int(ch.region[i]))

    def utilities(self, p: dict, ctx: Context) -> dict:
        r = self.region_index
        # residual trends grow until residual_until and hold afterwards
        t = min(ctx.year, p["residual_until"]) - 2012
        bump = math.exp(-0.5 * ((self.head_age - p["age_peak"]) / p["age_width"]) ** 2)
        higher = 1.0 if self.head_higher else 0.0
        north = 1.0 if self.region in NORTH else 0.0
        opt = self.optimism - 0.5
        eth_key = ETHNIC_PARAM[self.ethnicity]
        eth = 0.0 if eth_key is None else p[eth_key]
        common = (p["asc_emigrate"] + p["b_age_emigrate"] * bump
                  + p["b_higher_emigrate"] * higher + p["b_optimism_emigrate"] * opt + eth
                  + p["b_network_emigrate"] * self.share_abroad
                  + p["b_diaspora"] * (1.0 if self.diaspora else 0.0)
                  + p["b_north_emigrate"] * north
                  + p["b_grp_emigrate"] * float(ctx.grp[r])
                  + p["b_origin_income_emigrate"] * float(ctx.origin_income[r])
                  + p["b_hhsize_emigrate"] * (self.members - 1)
                  + p["b_children_emigrate"] * (1.0 if self.children else 0.0)
                  + p["b_devaluation_emigrate"] * float(ctx.devaluation)
                  + p["b_devaluation_shock"] * float(ctx.devaluation_shock)
                  + p["residual_emigrate"] * t)
        cis = common + p["b_income_emigrate"] * float(ctx.expected_cis[r])
        if self.ethnicity in COMPATRIOT and ctx.year >= p["compatriot_year"]:
            cis += p["b_compatriot"]
        if ctx.year >= p["eaeu_year"]:
            cis += p["b_eaeu_emigrate"]
        noncis = (common + p["b_income_emigrate"] * float(ctx.expected_noncis[r]) + p["asc_noncis"]
                  + (p["b_german_noncis"] if self.ethnicity == "German" else 0.0)
                  + p["b_destination_gap"] * float(ctx.destination_shift[r]))
        labour = None
        if self.can_labour:
            labour = (p["asc_labour"] + p["b_income_labour"] * float(ctx.gap_labour[r])
                      + p["b_age_labour"] * bump + p["b_higher_labour"] * higher
                      + p["b_optimism_labour"] * opt + p["b_network_labour"] * self.share_abroad
                      + p["b_north_labour"] * north + p["residual_labour"] * t
                      + (p["b_eaeu_labour"] if ctx.year >= p["eaeu_year"] else 0.0)
                      + (p["b_visa_labour"] if ctx.year >= p["visa_korea_year"] else 0.0))
        study = None
        if self.can_study:
            study = (p["asc_study"] + p["b_income_study"] * float(ctx.gap_study[r])
                     + p["b_higher_study"] * higher + p["b_optimism_study"] * opt
                     + p["b_network_study"] * self.share_abroad + p["residual_study"] * t)
        return {"cis": cis, "noncis": noncis, "labour": labour, "study": study}

    def probabilities(self, params: dict, ctx: Context) -> dict:
        v = self.utilities(params, ctx)
        lam = params["nest_scale"]
        e_cis = math.exp(v["cis"] / lam)
        e_noncis = math.exp(v["noncis"] / lam)
        inclusive = lam * math.log(e_cis + e_noncis)
        w = {"stay": 1.0, "emigrate": math.exp(inclusive),
             "labour": 0.0 if v["labour"] is None else math.exp(v["labour"]),
             "study": 0.0 if v["study"] is None else math.exp(v["study"])}
        total = sum(w.values())
        out = {k: x / total for k, x in w.items()}
        out["noncis"] = e_noncis / (e_cis + e_noncis)
        return out
