"""Hand-computed credit for every rule-based model, scenario by scenario.

Every expected number below is worked out in the comments from the model definitions in the
README ("Models", "W-shaped/full-path anchors"); none is read back from attrib. Each scenario
is one small export written as CSV and run through ``attrib.run.run``.
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import RULE_BASED, assert_credit, credit, deals, run_job, stages, touches

DIRECT = '[channels."Direct"]\ndirect = true\n[channels."Brand Direct"]\ndirect = true\n'


def _day(d: int, month: int = 1, year: int = 2025, hms: str = "00:00:00") -> str:
    return f"{year}-{month:02d}-{d:02d} {hms}"


def _td(deltas: list[float], half_life: float, value: float) -> list[float]:
    """Time-decay shares written out: value x 2^(-Δ/h) / Σ 2^(-Δ/h)."""
    w = [2 ** (-d / half_life) for d in deltas]
    return [value * x / sum(w) for x in w]


# --- multi-touch: five touches, lead and opportunity milestones inside the window ----------
# c1: Email Jan 1, Social Jan 5, Paid Search Jan 8, Direct Jan 15, Webinar Jan 22.
# lead stage Jan 6 -> lead anchor = last touch at or before Jan 6 = Social (Jan 5).
# created Jan 10 -> opportunity anchor = last touch at or before = Paid Search (Jan 8).
# closed Jan 29, won 1000 -> close anchor (full_path) = Webinar (last touch).
MULTI_T = [
    ("c1", _day(1), "Email"),
    ("c1", _day(5), "Social"),
    ("c1", _day(8), "Paid Search"),
    ("c1", _day(15), "Direct"),
    ("c1", _day(22), "Webinar"),
]
MULTI_D = [("d1", "c1", _day(10), _day(29), "won", 1000)]
MULTI_S = [("c1", "lead", _day(6))]
# time decay, Δt to close (Jan 29) = 28, 24, 21, 14, 7 days, h = 7:
# weights 2^-4, 2^(-24/7), 2^-3, 2^-2, 2^-1, normalised.
_MULTI_TD = _td([28, 24, 21, 14, 7], 7.0, 1000.0)
MULTI_REVENUE = {
    "first_touch": {"Email": 1000},
    "last_touch": {"Webinar": 1000},
    "last_non_direct": {"Webinar": 1000},  # the last touch is not direct
    "linear": dict.fromkeys(("Email", "Social", "Paid Search", "Direct", "Webinar"), 200.0),
    "time_decay": dict(
        zip(("Email", "Social", "Paid Search", "Direct", "Webinar"), _MULTI_TD, strict=True)
    ),
    # 40 / (20/3) x 3 / 40
    "position_based": {
        "Email": 400,
        "Social": 200 / 3,
        "Paid Search": 200 / 3,
        "Direct": 200 / 3,
        "Webinar": 400,
    },
    # 30% first (Email), 30% lead (Social), 30% opportunity (Paid Search); 10% over the other
    # two touches: 5% each.
    "w_shaped": {"Email": 300, "Social": 300, "Paid Search": 300, "Direct": 50, "Webinar": 50},
    # 22.5% first, lead, opportunity, close (Webinar); 10% to the one other touch (Direct).
    "full_path": {
        "Email": 225,
        "Social": 225,
        "Paid Search": 225,
        "Direct": 100,
        "Webinar": 225,
    },
}
# pipeline_created: the prefix up to created_at (Jan 10): Email, Social, Paid Search.
# time decay Δt to creation = 9, 5, 2 days. W/Z on the prefix: first, lead, opportunity are
# all three touches (close drops out for pipeline created) -> every touch an anchor: 1/3 each.
_MULTI_TD_C = _td([9, 5, 2], 7.0, 1000.0)
_THIRD = 1000 / 3
MULTI_CREATED = {
    "first_touch": {"Email": 1000},
    "last_touch": {"Paid Search": 1000},
    "last_non_direct": {"Paid Search": 1000},
    "linear": dict.fromkeys(("Email", "Social", "Paid Search"), _THIRD),
    "time_decay": dict(zip(("Email", "Social", "Paid Search"), _MULTI_TD_C, strict=True)),
    "position_based": {"Email": 400, "Social": 200, "Paid Search": 400},
    "w_shaped": dict.fromkeys(("Email", "Social", "Paid Search"), _THIRD),
    "full_path": dict.fromkeys(("Email", "Social", "Paid Search"), _THIRD),
}


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    return run_job(
        tmp_path_factory.mktemp("multi"),
        touches=touches(MULTI_T),
        deals=deals(MULTI_D),
        stages=stages(MULTI_S),
        config=DIRECT,
    )


@pytest.mark.parametrize("model", RULE_BASED)
def test_multi_touch_revenue(multi, model):
    assert_credit(credit(multi, model, "revenue"), MULTI_REVENUE[model])
    assert_credit(
        credit(multi, model, "conversions"), {k: v / 1000 for k, v in MULTI_REVENUE[model].items()}
    )
    assert credit(multi, model, "pipeline") == {}


@pytest.mark.parametrize("model", RULE_BASED)
def test_multi_touch_pipeline_created(multi, model):
    assert_credit(credit(multi, model, "pipeline_created"), MULTI_CREATED[model])
    expected_deals = {k: v / 1000 for k, v in MULTI_CREATED[model].items()}
    assert_credit(credit(multi, model, "deals_created"), expected_deals)


# --- two touches -----------------------------------------------------------------------------
# c2: Email Jan 1, Social Jan 3; deal created Jan 2, closed Jan 10, won 100; no stage data.
# time decay Δt = 9 and 7 days. W: first = opportunity = Email (last touch <= Jan 2), lead
# missing -> 2 roles share 90%: Email 90%, the other touch Social 10%. Z: first = opportunity
# = Email, close = Social; every touch is an anchor -> the 3 roles share 100%: Email 2/3,
# Social 1/3.
TWO_T = [("c2", _day(1), "Email"), ("c2", _day(3), "Social")]
TWO_D = [("d2", "c2", _day(2), _day(10), "won", 100)]
TWO_REVENUE = {
    "first_touch": {"Email": 100},
    "last_touch": {"Social": 100},
    "last_non_direct": {"Social": 100},
    "linear": {"Email": 50, "Social": 50},
    "time_decay": dict(zip(("Email", "Social"), _td([9, 7], 7.0, 100.0), strict=True)),
    "position_based": {"Email": 50, "Social": 50},
    "w_shaped": {"Email": 90, "Social": 10},
    "full_path": {"Email": 200 / 3, "Social": 100 / 3},
}


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    return run_job(tmp_path_factory.mktemp("two"), touches=touches(TWO_T), deals=deals(TWO_D))


@pytest.mark.parametrize("model", RULE_BASED)
def test_two_touches(two, model):
    assert_credit(credit(two, model, "revenue"), TWO_REVENUE[model])
    # pipeline created: only Email is at or before created_at (Jan 2) -> one touch, 100%.
    assert_credit(credit(two, model, "pipeline_created"), {"Email": 100})


def test_time_decay_half_life_option(tmp_path):
    # [models.time_decay] half_life_days = 3: weights 2^(-9/3) = 1/8 and 2^(-7/3).
    config = "[models.time_decay]\nhalf_life_days = 3\n"
    result = run_job(
        tmp_path, touches=touches(TWO_T), deals=deals(TWO_D), config=config, models="time_decay"
    )
    a, b = 2 ** (-3), 2 ** (-7 / 3)
    assert_credit(
        credit(result, "time_decay"), {"Email": 100 * a / (a + b), "Social": 100 * b / (a + b)}
    )


# --- one touch ------------------------------------------------------------------------------
@pytest.mark.parametrize("model", RULE_BASED)
def test_one_touch_gets_everything(one, model):
    assert_credit(credit(one, model, "revenue"), {"Referral": 50})
    assert_credit(credit(one, model, "pipeline"), {"Referral": 70})
    assert_credit(credit(one, model, "pipeline_created"), {"Referral": 120})


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    # c3: Referral Jan 5 -> won deal (50) created Jan 5, closed Jan 6.
    # c3b: Referral Jan 5 -> open deal (70) created Jan 7.
    return run_job(
        tmp_path_factory.mktemp("one"),
        touches=touches([("c3", _day(5), "Referral"), ("c3b", _day(5), "Referral")]),
        deals=deals(
            [
                ("d3", "c3", _day(5, hms="12:00:00"), _day(6), "won", 50),
                ("d3b", "c3b", _day(7), None, "open", 70),
            ]
        ),
    )


# --- ties in timestamps: order by channel, then campaign name ---------------------------------
# c4: Social/s1 and Email/e1 at the same instant (Social listed first in the file). Order:
# Email, Social. Deal created 12:00 the same day, closed Jan 4, won 10.
# c4b: Paid Search/zeta and Paid Search/alpha at the same instant; order: alpha, zeta. Won 20.
# W for c4 (no stages): first = Email, opportunity = Social -> all anchors, 1/2 each.
# Z for c4: first Email, opportunity Social, close Social -> Email 1/3, Social 2/3.
TIES_T = [
    ("c4", _day(3, hms="10:00:00"), "Social", "s1"),
    ("c4", _day(3, hms="10:00:00"), "Email", "e1"),
    ("c4b", _day(3, hms="10:00:00"), "Paid Search", "zeta"),
    ("c4b", _day(3, hms="10:00:00"), "Paid Search", "alpha"),
]
TIES_D = [
    ("d4", "c4", _day(3, hms="12:00:00"), _day(4), "won", 10),
    ("d4b", "c4b", _day(3, hms="12:00:00"), _day(4), "won", 20),
]
TIES_REVENUE = {
    "first_touch": {"Email": 10, "Paid Search": 20},
    "last_touch": {"Social": 10, "Paid Search": 20},
    "last_non_direct": {"Social": 10, "Paid Search": 20},
    "linear": {"Email": 5, "Social": 5, "Paid Search": 20},
    "time_decay": {"Email": 5, "Social": 5, "Paid Search": 20},  # equal Δt
    "position_based": {"Email": 5, "Social": 5, "Paid Search": 20},
    "w_shaped": {"Email": 5, "Social": 5, "Paid Search": 20},
    "full_path": {"Email": 10 / 3, "Social": 20 / 3, "Paid Search": 20},
}
# campaign of c4b's 20 under each model: first = alpha, last = zeta; W: first alpha,
# opportunity zeta (last at or before 12:00) -> 10/10; Z: alpha 1/3, zeta 2/3.
TIES_CAMPAIGN = {
    "first_touch": {"alpha": 20},
    "last_touch": {"zeta": 20},
    "last_non_direct": {"zeta": 20},
    "linear": {"alpha": 10, "zeta": 10},
    "time_decay": {"alpha": 10, "zeta": 10},
    "position_based": {"alpha": 10, "zeta": 10},
    "w_shaped": {"alpha": 10, "zeta": 10},
    "full_path": {"alpha": 20 / 3, "zeta": 40 / 3},
}


@pytest.fixture(scope="module", params=[False, True], ids=["file-order", "reversed"])
def ties(request, tmp_path_factory):
    rows = TIES_T[::-1] if request.param else TIES_T
    return run_job(tmp_path_factory.mktemp("ties"), touches=touches(rows), deals=deals(TIES_D))


@pytest.mark.parametrize("model", RULE_BASED)
def test_ties_ordered_by_channel_then_campaign(ties, model):
    assert_credit(credit(ties, model), TIES_REVENUE[model])
    camp = ties.attribution.campaign_summary.filter(
        (pl.col("model") == model) & (pl.col("channel") == "Paid Search") & (pl.col("revenue") != 0)
    )
    got = dict(zip(camp["campaign"], camp["revenue"], strict=True))
    assert_credit(got, TIES_CAMPAIGN[model])


# --- zero-touch deals ------------------------------------------------------------------------
# c5 has no touches at all: its won deal (500) is a zero-touch journey.
# c5b's only touch comes after its deal closed: zero-touch deal (300) + a non-converting path.
# Every model credits (none) with 800 and Email (the non-converting touch) with nothing.
@pytest.mark.parametrize("model", RULE_BASED)
def test_zero_touch_deals_go_to_none(zero, model):
    assert_credit(credit(zero, model), {"(none)": 800})
    assert_credit(credit(zero, model, "conversions"), {"(none)": 2})
    assert_credit(credit(zero, model, "pipeline_created"), {"(none)": 800})


@pytest.fixture(scope="module")
def zero(tmp_path_factory):
    return run_job(
        tmp_path_factory.mktemp("zero"),
        touches=touches([("c5b", _day(20), "Email")]),
        deals=deals(
            [
                ("d5", "c5", _day(1), _day(3), "won", 500),
                ("d5b", "c5b", _day(1), _day(10), "won", 300),
            ]
        ),
    )


def test_zero_touch_channel_row_kept_for_channels_without_credit(zero):
    rows = zero.channel_summary.filter(pl.col("model") == "linear")
    assert sorted(rows["channel"]) == ["(none)", "Email"]
    assert rows.filter(pl.col("channel") == "Email")["revenue"].to_list() == [0.0]


# --- lookback cut ------------------------------------------------------------------------------
# c6: Social 2024-12-31 23:59:59, Email 2025-01-01 00:00:00, Webinar 2025-01-20; deal closed
# 2025-01-31 00:00 (won 100). With a 30-day lookback the window starts 2025-01-01 00:00
# inclusive: Email is in, Social (one second earlier) is out.
LOOK_T = [
    ("c6", "2024-12-31 23:59:59", "Social"),
    ("c6", _day(1), "Email"),
    ("c6", _day(20), "Webinar"),
]
LOOK_D = [("d6", "c6", _day(15), _day(31), "won", 100)]


def test_lookback_cut(tmp_path):
    result = run_job(
        tmp_path,
        touches=touches(LOOK_T),
        deals=deals(LOOK_D),
        models="first_touch,linear,last_touch",
        lookback_days=30,
    )
    assert_credit(credit(result, "first_touch"), {"Email": 100})
    assert_credit(credit(result, "linear"), {"Email": 50, "Webinar": 50})
    assert_credit(credit(result, "last_touch"), {"Webinar": 100})


def test_lookback_from_config_and_default(tmp_path):
    cut = run_job(
        tmp_path / "cut",
        touches=touches(LOOK_T),
        deals=deals(LOOK_D),
        config="[options]\nlookback_days = 30\n",
        models="first_touch",
    )
    assert_credit(credit(cut, "first_touch"), {"Email": 100})
    # default 365 days: Social is the first touch
    full = run_job(
        tmp_path / "full", touches=touches(LOOK_T), deals=deals(LOOK_D), models="first_touch"
    )
    assert_credit(credit(full, "first_touch"), {"Social": 100})


# --- account level ----------------------------------------------------------------------------
# Account A1 has contacts c7a (Email Jan 1) and c7b (Social Jan 5); A2's c7c has Webinar Jan 2.
# Deal d7 of c7a (created Jan 6, closed Jan 8, won 100).
# customer level: d7's journey is c7a's Email only. account level: A1's Email, Social.
ACC_T = [
    ("c7a", "A1", _day(1), "Email"),
    ("c7b", "A1", _day(5), "Social"),
    ("c7c", "A2", _day(2), "Webinar"),
]
ACC_COLS = ("customer_id", "account_id", "ts", "channel")
ACC_D = [("d7", "c7a", _day(6), _day(8), "won", 100)]
ACCOUNT_REVENUE = {
    "first_touch": {"Email": 100},
    "last_touch": {"Social": 100},
    "last_non_direct": {"Social": 100},
    "linear": {"Email": 50, "Social": 50},
    # Δt to close (Jan 8) = 7 and 3 days
    "time_decay": dict(zip(("Email", "Social"), _td([7, 3], 7.0, 100.0), strict=True)),
    "position_based": {"Email": 50, "Social": 50},
    # no stages; opportunity = last touch <= Jan 6 = Social; first = Email -> all anchors
    "w_shaped": {"Email": 50, "Social": 50},
    # first Email, opportunity Social, close Social -> 1/3, 2/3
    "full_path": {"Email": 100 / 3, "Social": 200 / 3},
}


@pytest.mark.parametrize("model", RULE_BASED)
def test_customer_level_uses_the_contact_only(model, customer_level):
    assert_credit(credit(customer_level, model), {"Email": 100})


@pytest.fixture(scope="module")
def customer_level(tmp_path_factory):
    return run_job(
        tmp_path_factory.mktemp("cust"), touches=touches(ACC_T, ACC_COLS), deals=deals(ACC_D)
    )


@pytest.fixture(scope="module", params=["option", "config", "deal-account"])
def account_level(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("acct")
    if request.param == "option":  # --level account / run(level="account")
        return run_job(tmp, touches=touches(ACC_T, ACC_COLS), deals=deals(ACC_D), level="account")
    if request.param == "config":
        return run_job(
            tmp,
            touches=touches(ACC_T, ACC_COLS),
            deals=deals(ACC_D),
            config='[options]\nlevel = "account"\n',
        )
    # the deal names its account itself
    cols = ("deal_id", "customer_id", "account_id", "created_at", "closed_at", "status", "amount")
    return run_job(
        tmp,
        touches=touches(ACC_T, ACC_COLS),
        deals=deals([("d7", "c7a", "A1", _day(6), _day(8), "won", 100)], cols),
        level="account",
    )


@pytest.mark.parametrize("model", RULE_BASED)
def test_account_level_rolls_contacts_up(account_level, model):
    assert_credit(credit(account_level, model), ACCOUNT_REVENUE[model])
    j = account_level.journeys.table.filter(pl.col("deal_id") == "d7")
    assert j["entity_id"].to_list() == ["A1"]
    assert j["path"].to_list() == ["Email > Social"]


def test_account_level_keeps_the_stages_of_a_customer_known_by_its_deals(tmp_path):
    """A customer without touches takes its account from its deals (``with_deal_accounts``):
    its stage rows keep an entity at account level rather than being rejected."""
    cols = ("deal_id", "customer_id", "account_id", "created_at", "closed_at", "status", "amount")
    result = run_job(
        tmp_path,
        touches=touches(ACC_T, ACC_COLS),
        deals=deals(
            [
                ("d7", "c7a", "A1", _day(6), _day(8), "won", 100),
                ("d9", "c9", "B9", _day(6), _day(9), "won", 50),
            ],
            cols,
        ),
        stages=stages([("c9", "lead", _day(4)), ("c9", "sql", _day(5)), ("c7a", "lead", _day(3))]),
        level="account",
    )
    assert result.inputs.rejected["stages"] == 0
    entities = result.inputs.stages.sort("ts").select("customer_id", "entity_id").rows()
    assert entities == [("c7a", "A1"), ("c9", "B9"), ("c9", "B9")]
    assert_credit(credit(result, "first_touch"), {"Email": 100, "(none)": 50})


# --- W/Z anchors -----------------------------------------------------------------------------
def _anchor_run(tmp_path, t, d, s=None, metric="revenue"):
    result = run_job(
        tmp_path,
        touches=touches(t),
        deals=deals(d),
        stages=stages(s) if s else None,
        models="w_shaped,full_path",
    )
    return credit(result, "w_shaped", metric), credit(result, "full_path", metric)


def test_anchor_lead_milestone_before_window_drops_out(tmp_path):
    # lead Jan 1 is before the first touch (Jan 10): no lead anchor.
    # touches Email 10, Social 12, Webinar 14, Referral 20; created Jan 13 -> opp = Social.
    # W: first Email + opp Social share 90% -> 45% each; Webinar, Referral 5% each.
    # Z: first Email, opp Social, close Referral: 30% each; Webinar 10%.
    t = [
        ("c8", _day(10), "Email"),
        ("c8", _day(12), "Social"),
        ("c8", _day(14), "Webinar"),
        ("c8", _day(20), "Referral"),
    ]
    d = [("d8", "c8", _day(13), _day(25), "won", 100)]
    w, z = _anchor_run(tmp_path, t, d, [("c8", "lead", _day(1))])
    assert_credit(w, {"Email": 45, "Social": 45, "Webinar": 5, "Referral": 5})
    assert_credit(z, {"Email": 30, "Social": 30, "Webinar": 10, "Referral": 30})


def test_anchor_lead_milestone_after_window_drops_out(tmp_path):
    # touches A Mar 2, B 3, C 4, D 5; created Mar 4 (opp = C), closed Mar 6; lead Mar 11 is
    # after the close: outside the window, so no lead anchor (it used to land on D).
    # W: first A + opp C, 45% each; B, D 5% each. Z: first A, opp C, close D 30% each; B 10%.
    t = [
        ("c7", _day(2, 3), "A"),
        ("c7", _day(3, 3), "B"),
        ("c7", _day(4, 3), "C"),
        ("c7", _day(5, 3), "D"),
    ]
    d = [("d7", "c7", _day(4, 3), _day(6, 3), "won", 100)]
    w, z = _anchor_run(tmp_path, t, d, [("c7", "lead", _day(11, 3))])
    assert_credit(w, {"A": 45, "B": 5, "C": 45, "D": 5})
    assert_credit(z, {"A": 30, "B": 10, "C": 30, "D": 30})


def test_anchor_no_touch_before_creation(tmp_path):
    # created Jan 1 before every touch: no opportunity anchor. mql Jan 6 12:00 -> lead = Social.
    # W: first Email + lead Social, 45% each; Webinar 10%.
    # Z: first Email, lead Social, close Webinar -> every touch an anchor, 1/3 each.
    t = [("c9", _day(5), "Email"), ("c9", _day(6), "Social"), ("c9", _day(7), "Webinar")]
    d = [("d9", "c9", _day(1), _day(10), "won", 100)]
    w, z = _anchor_run(tmp_path, t, d, [("c9", "mql", _day(6, hms="12:00:00"))])
    assert_credit(w, {"Email": 45, "Social": 45, "Webinar": 10})
    assert_credit(z, {"Email": 100 / 3, "Social": 100 / 3, "Webinar": 100 / 3})


def test_anchor_open_deal_has_no_close_role(tmp_path):
    # open deal created Jan 5 (amount 100): window ends at creation; opp = Referral (Jan 4).
    # W = Z: first Email 45%, opp Referral 45%, Social and Webinar 5% each.
    t = [
        ("c10", _day(1), "Email"),
        ("c10", _day(2), "Social"),
        ("c10", _day(3), "Webinar"),
        ("c10", _day(4), "Referral"),
    ]
    d = [("d10", "c10", _day(5), None, "open", 100)]
    w, z = _anchor_run(tmp_path, t, d, metric="pipeline")
    expected = {"Email": 45, "Social": 5, "Webinar": 5, "Referral": 45}
    assert_credit(w, expected)
    assert_credit(z, expected)


def test_anchor_touch_filling_two_roles_gets_both_shares(tmp_path):
    # lead Jan 6 and created Jan 7 -> lead = opportunity = Social (Jan 5).
    # W: Email 30%, Social 60%, Webinar and Referral 5% each.
    # Z (close = Referral): Email 22.5%, Social 45%, Referral 22.5%, Webinar 10%.
    t = [
        ("c11", _day(1), "Email"),
        ("c11", _day(5), "Social"),
        ("c11", _day(10), "Webinar"),
        ("c11", _day(12), "Referral"),
    ]
    d = [("d11", "c11", _day(7), _day(15), "won", 100)]
    w, z = _anchor_run(tmp_path, t, d, [("c11", "lead", _day(6)), ("c11", "mql", _day(9))])
    assert_credit(w, {"Email": 30, "Social": 60, "Webinar": 5, "Referral": 5})
    assert_credit(z, {"Email": 22.5, "Social": 45, "Webinar": 10, "Referral": 22.5})


def test_anchor_lead_on_the_first_touch_fills_two_roles(tmp_path):
    # lead Jan 2 -> lead anchor = Email (Jan 1), the first touch too; created Jan 8 -> opp =
    # Social (Jan 5); closed Jan 12 -> close = Webinar (Jan 10).
    # W: first Email 30% + lead Email 30% = 60%, opp Social 30%, Webinar (the other) 10%.
    # Z: four roles, every touch an anchor -> the roles share 100%, 25% each: Email 50%
    # (first + lead), Social 25%, Webinar 25% (close).
    t = [("c13", _day(1), "Email"), ("c13", _day(5), "Social"), ("c13", _day(10), "Webinar")]
    d = [("d13", "c13", _day(8), _day(12), "won", 100)]
    w, z = _anchor_run(tmp_path, t, d, [("c13", "lead", _day(2))])
    assert_credit(w, {"Email": 60, "Social": 30, "Webinar": 10})
    assert_credit(z, {"Email": 50, "Social": 25, "Webinar": 25})


def test_anchor_lead_at_the_close_itself_is_in_the_window(tmp_path):
    # lead Jan 12 10:00 = closed_at: the window end is inclusive, so the lead milestone lies
    # in it; lead anchor = last touch at or before it = Webinar (Jan 10). created Jan 3 ->
    # opp = Email (Jan 1); close anchor (Z) = Webinar.
    # W: first Email 30% + opp Email 30% = 60%, lead Webinar 30%, Social (the other) 10%.
    # Z: first Email + opp Email = 45%, lead Webinar + close Webinar = 45%, Social 10%.
    t = [("c14", _day(1), "Email"), ("c14", _day(5), "Social"), ("c14", _day(10), "Webinar")]
    d = [("d14", "c14", _day(3), _day(12, hms="10:00:00"), "won", 100)]
    w, z = _anchor_run(tmp_path, t, d, [("c14", "lead", _day(12, hms="10:00:00"))])
    assert_credit(w, {"Email": 60, "Social": 10, "Webinar": 30})
    assert_credit(z, {"Email": 45, "Social": 10, "Webinar": 45})


def test_anchor_close_is_the_last_touch_at_or_before_the_close(tmp_path):
    # revenue_window = "created_at" and a date-only creation, Jan 4, hold every touch of
    # that day: Direct at 12:30 is in the journey but came after the close (Jan 4 09:00).
    # Z: first A, opp Direct (last at or before the creation's day), close C (last at or
    # before 09:00): 30% each; B 10%. Direct took the close role too (60%), C nothing.
    t = [
        ("c", _day(1, hms="12:30:00"), "A"),
        ("c", _day(2, hms="12:30:00"), "B"),
        ("c", _day(3, hms="09:00:00"), "C"),
        ("c", _day(4, hms="12:30:00"), "Direct"),
    ]
    d = [("d", "c", _day(4), _day(4, hms="09:00:00"), "won", 100)]
    result = run_job(
        tmp_path,
        touches=touches(t),
        deals=deals(d),
        models="full_path",
        config='[options]\nrevenue_window = "created_at"\n',
    )
    assert_credit(credit(result, "full_path"), {"A": 30, "B": 10, "C": 30, "Direct": 30})


# --- last non-direct -------------------------------------------------------------------------
def test_last_non_direct_skips_direct_and_keeps_all_direct_journeys(tmp_path):
    # c12: Email, Direct, Direct -> Email (the last non-direct touch).
    # c13: Direct, Brand Direct (both direct) -> the last touch, Brand Direct.
    t = [
        ("c12", _day(1), "Email"),
        ("c12", _day(2), "Direct"),
        ("c12", _day(3), "Direct"),
        ("c13", _day(1), "Direct"),
        ("c13", _day(2), "Brand Direct"),
    ]
    d = [
        ("d12", "c12", _day(1), _day(4), "won", 100),
        ("d13", "c13", _day(1), _day(4), "won", 40),
    ]
    result = run_job(
        tmp_path,
        touches=touches(t),
        deals=deals(d),
        config=DIRECT,
        models="last_non_direct,last_touch",
    )
    assert_credit(credit(result, "last_non_direct"), {"Email": 100, "Brand Direct": 40})
    assert_credit(credit(result, "last_touch"), {"Direct": 100, "Brand Direct": 40})


def test_direct_unflagged_is_an_ordinary_channel(tmp_path):
    # without the config, "Direct" is not direct: last_non_direct = last_touch
    t = [("c12", _day(1), "Email"), ("c12", _day(2), "Direct")]
    d = [("d12", "c12", _day(1), _day(4), "won", 100)]
    result = run_job(tmp_path, touches=touches(t), deals=deals(d), models="last_non_direct")
    assert_credit(credit(result, "last_non_direct"), {"Direct": 100})


# --- the Python API mirrors the job ------------------------------------------------------------
def test_api_steps_match_run(multi, tmp_path):
    import attrib.api as at

    data = multi.inputs.files["touchpoints"][0].rsplit("/", 1)[0]
    inputs = at.load_inputs(data)
    journeys = at.build_journeys(inputs.touches, inputs.deals, inputs.config, stages=inputs.stages)
    result = at.attribute(journeys, list(RULE_BASED), config=inputs.config)
    for model in RULE_BASED:
        assert_credit(credit(result, model), MULTI_REVENUE[model])
        assert_credit(credit(result, model, "pipeline_created"), MULTI_CREATED[model])


def test_api_event_log_frame(tmp_path):
    # the adapter on an in-memory frame; u1: Email, Social (converting, 12) -> linear 6/6
    import attrib.api as at

    log = pl.DataFrame(
        {
            "cookie": ["u1", "u1"],
            "time": [_day(1), _day(2)],
            "channel": ["Email", "Social"],
            "conversion": [0, 1],
            "conversion_value": [None, 12.0],
        }
    )
    t, d = at.event_log_tables(log)
    inputs = at.load_inputs(frames={"touchpoints": t, "deals": d})
    journeys = at.build_journeys(inputs.touches, inputs.deals, inputs.config)
    result = at.attribute(journeys, ["linear"])
    assert_credit(credit(result, "linear"), {"Email": 6, "Social": 6})
