"""Journey windows exactly as the README's "Journeys" section defines them.

Scenario (all 2025-01, midnight unless noted; "SDR Outbound" is marked non-marketing):

cA: Email 1, Social 5, Webinar 10, Referral 15, Display 25
    dA1 created 3, closed 10, won 100  -> Email, Social, Webinar (the window end is inclusive)
    dA2 created 12, closed 20, lost 50 -> Referral only: touches at or before dA1's end are
                                          dA1's, though inside dA2's lookback
    Display 25 is after the last deal   -> a non-converting journey
cB: SDR Outbound 1, Email 4, Social 8
    dB open, created 5, amount 70       -> window ends at created_at: SDR Outbound, Email
    Social 8                            -> non-converting
cC: no touches; dC won 30 (created 1, closed 2) -> zero-touch journey
cD: Email 1; dD2 and dD1 both closed 5 (won 10 and 20), created 2 -> dD1 (first by deal_id)
    takes Email, dD2 is zero-touch
cE: SDR Outbound 1; dE won 5, created 2, closed 3 -> not marketing-sourced nor influenced
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
from conftest import assert_credit, credit, deals, run_job, stages, touches

CONFIG = '[channels."SDR Outbound"]\nmarketing = false\n'


def _d(day: int, hms: str = "00:00:00") -> str:
    return f"2025-01-{day:02d} {hms}"


T = [
    ("cA", _d(1), "Email"),
    ("cA", _d(5), "Social"),
    ("cA", _d(10), "Webinar"),
    ("cA", _d(15), "Referral"),
    ("cA", _d(25), "Display"),
    ("cB", _d(1), "SDR Outbound"),
    ("cB", _d(4), "Email"),
    ("cB", _d(8), "Social"),
    ("cD", _d(1), "Email"),
    ("cE", _d(1), "SDR Outbound"),
]
D = [
    ("dA1", "cA", _d(3), _d(10), "won", 100),
    ("dA2", "cA", _d(12), _d(20), "lost", 50),
    ("dB", "cB", _d(5), None, "open", 70),
    ("dC", "cC", _d(1), _d(2), "won", 30),
    ("dD2", "cD", _d(2), _d(5), "won", 10),
    ("dD1", "cD", _d(2), _d(5), "won", 20),
    ("dE", "cE", _d(2), _d(3), "won", 5),
]


def _ts(day: int) -> datetime:
    return datetime(2025, 1, day)


# deal_id -> (status, amount, path, first, last, first_at, last_at, days_to_close, sourced, infl)
EXPECTED = {
    "dA1": ("won", 100, "Email > Social > Webinar", "Email", "Webinar", 1, 10, 9.0, True, True),
    "dA2": ("lost", 50, "Referral", "Referral", "Referral", 15, 15, 5.0, True, True),
    "dB": ("open", 70, "SDR Outbound > Email", "SDR Outbound", "Email", 1, 4, None, False, True),
    "dC": ("won", 30, "", "(none)", "(none)", None, None, None, False, False),
    "dD1": ("won", 20, "Email", "Email", "Email", 1, 1, 4.0, True, True),
    "dD2": ("won", 10, "", "(none)", "(none)", None, None, None, False, False),
    "dE": ("won", 5, "SDR Outbound", "SDR Outbound", "SDR Outbound", 1, 1, 2.0, False, False),
}
# non-converting tails: entity -> path
TAILS = {"cA": "Display", "cB": "Social"}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return run_job(
        tmp_path_factory.mktemp("journeys"),
        touches=touches(T),
        deals=deals(D),
        config=CONFIG,
        models="first_touch,linear",
        out=True,
    )


@pytest.fixture(scope="module")
def table(result):
    return pl.read_parquet(result.out / "journeys.parquet")


def test_journeys_parquet_columns(table):
    assert table.columns == [
        "journey_id",
        "entity_id",
        "deal_id",
        "status",
        "amount",
        "n_touches",
        "path",
        "first_channel",
        "last_channel",
        "first_touch_at",
        "last_touch_at",
        "created_at",
        "closed_at",
        "days_to_close",
        "marketing_sourced",
        "marketing_influenced",
        "pipeline_sourced",
        "pipeline_influenced",
    ]
    assert table["journey_id"].to_list() == list(range(table.height))
    assert table.height == len(EXPECTED) + len(TAILS)


@pytest.mark.parametrize("deal_id", sorted(EXPECTED))
def test_deal_journey_rows(table, deal_id):
    rows = table.filter(pl.col("deal_id") == deal_id).to_dicts()
    assert len(rows) == 1
    row = rows[0]
    status, amount, path, first, last, first_at, last_at, days, sourced, infl = EXPECTED[deal_id]
    assert row["status"] == status
    assert row["amount"] == amount
    assert row["path"] == path
    assert row["n_touches"] == (len(path.split(" > ")) if path else 0)
    assert (row["first_channel"], row["last_channel"]) == (first, last)
    assert row["first_touch_at"] == (_ts(first_at) if first_at else None)
    assert row["last_touch_at"] == (_ts(last_at) if last_at else None)
    assert row["days_to_close"] == days
    assert row["marketing_sourced"] is sourced
    assert row["marketing_influenced"] is infl
    deal = next(d for d in D if d[0] == deal_id)
    assert row["entity_id"] == deal[1]
    assert row["created_at"] == datetime.fromisoformat(deal[2])
    assert row["closed_at"] == (datetime.fromisoformat(deal[3]) if deal[3] else None)


def test_non_converting_tails(table):
    tails = table.filter(pl.col("deal_id").is_null())
    assert dict(zip(tails["entity_id"], tails["path"], strict=True)) == TAILS
    assert set(tails["status"]) == {"none"}
    assert tails["amount"].to_list() == [0.0, 0.0]
    assert tails["days_to_close"].to_list() == [None, None]


def test_every_touch_in_at_most_one_journey(table):
    # 10 touches, all inside some journey here: 3 + 1 + 1 (cA) + 2 + 1 (cB) + 1 (cD) + 1 (cE)
    assert table["n_touches"].sum() == len(T)


def test_credit_over_the_windows(result):
    # linear revenue: dA1 100 over Email/Social/Webinar; dD1 20 -> Email; dE 5 -> SDR;
    # dC 30 and dD2 10 are zero-touch -> (none) 40.
    assert_credit(
        credit(result, "linear", "revenue"),
        {
            "Email": 100 / 3 + 20,
            "Social": 100 / 3,
            "Webinar": 100 / 3,
            "SDR Outbound": 5,
            "(none)": 40,
        },
    )
    # pipeline: the open deal dB (70) over SDR Outbound, Email
    assert_credit(credit(result, "linear", "pipeline"), {"SDR Outbound": 35, "Email": 35})
    assert_credit(credit(result, "linear", "lost_deals"), {"Referral": 1})
    # pipeline_created over each journey's prefix up to created_at:
    # dA1 (created 3): Email 100; dA2 (created 12, its only touch is on 15): (none) 50;
    # dB: SDR 35 + Email 35; dC (none) 30; dD1 (created 2): Email 20; dD2 (none) 10; dE SDR 5
    assert_credit(
        credit(result, "linear", "pipeline_created"),
        {"Email": 155, "SDR Outbound": 40, "(none)": 90},
    )
    assert_credit(
        credit(result, "linear", "deals_created"),
        {"Email": 2.5, "SDR Outbound": 1.5, "(none)": 3},
    )
    # first touch: dB's pipeline goes to SDR Outbound, the first touch of its window
    assert_credit(credit(result, "first_touch", "pipeline"), {"SDR Outbound": 70})


def test_revenue_window_created_at(tmp_path):
    # every window ends at created_at: dA1 (created 3) -> Email; dA2 (created 12) -> Social,
    # Webinar (after dA1's end); cA's tail -> Referral > Display.
    result = run_job(
        tmp_path,
        touches=touches(T),
        deals=deals(D),
        config=CONFIG + '[options]\nrevenue_window = "created_at"\n',
        models="linear",
    )
    j = result.journeys.table
    path = dict(zip(j["deal_id"], j["path"], strict=True))
    assert path["dA1"] == "Email"
    assert path["dA2"] == "Social > Webinar"
    tail = j.filter(pl.col("deal_id").is_null() & (pl.col("entity_id") == "cA"))
    assert tail["path"].to_list() == ["Referral > Display"]


def test_lookback_bound_is_inclusive(tmp_path):
    # deal closed 2025-01-15 12:00, lookback 10 days -> window starts 2025-01-05 12:00 inclusive
    t = [
        ("c", "2025-01-05 11:59:59.999999", "Social"),  # 1 µs before the bound: out
        ("c", "2025-01-05 12:00:00", "Email"),  # exactly on the bound: in
        ("c", "2025-01-15 12:00:00", "Webinar"),  # exactly the window end: in
        ("c", "2025-01-15 12:00:01", "Display"),  # after the close: the tail
    ]
    d = [("d", "c", "2025-01-10", "2025-01-15 12:00:00", "won", 1)]
    result = run_job(
        tmp_path, touches=touches(t), deals=deals(d), models="first_touch", lookback_days=10
    )
    j = result.journeys.table
    path = dict(zip(j["deal_id"], j["path"], strict=True))
    assert path["d"] == "Email > Webinar"
    assert path[None] == "Display"
    assert_credit(credit(result, "first_touch"), {"Email": 1})


@pytest.mark.parametrize("days", [10**9, 10**12, 2**63 - 1])
def test_a_lookback_beyond_every_time_keeps_every_earlier_touch(tmp_path, days):
    # "no limit" written as a huge --lookback-days: its microseconds overflowed int64 (a
    # numpy RuntimeWarning on stderr) and the wrapped bound silently dropped touches from
    # journeys, exit 0. Every time lies in 1900-2199, so a longer lookback reaches them all.
    t = [
        ("c", "1901-06-01 00:00:00", "Social"),
        ("c", "2025-01-05 12:00:00", "Email"),
        ("c", "2025-01-15 12:00:00", "Webinar"),
    ]
    d = [("d", "c", "2025-01-10", "2199-12-31 12:00:00", "won", 1)]
    result = run_job(
        tmp_path, touches=touches(t), deals=deals(d), models="first_touch", lookback_days=days
    )
    j = result.journeys.table
    assert j.filter(pl.col("deal_id") == "d")["path"].to_list() == ["Social > Email > Webinar"]
    assert_credit(credit(result, "first_touch"), {"Social": 1})


# A date without a time (midnight UTC exactly) as a close, creation or lead: the window or
# anchor holds the touches of that whole day. c: Email Jan 1 10:00, Social Jan 5 09:00 and
# Webinar Jan 5 15:00 (lead day), Display Jan 10 16:00 (creation day), Referral Jan 20 18:00
# (close day), Video Jan 21 01:00 (after). Lead 2025-01-05, deal created 2025-01-10 and won
# 2025-01-20 (dates), 100.
DATE_ONLY_T = [
    ("c", _d(1, "10:00:00"), "Email"),
    ("c", _d(5, "09:00:00"), "Social"),
    ("c", _d(5, "15:00:00"), "Webinar"),
    ("c", _d(10, "16:00:00"), "Display"),
    ("c", _d(20, "18:00:00"), "Referral"),
    ("c", _d(21, "01:00:00"), "Video"),
]


def test_a_date_holds_its_whole_day(tmp_path):
    result = run_job(
        tmp_path,
        touches=touches(DATE_ONLY_T),
        deals=deals([("d", "c", "2025-01-10", "2025-01-20", "won", 100)]),
        stages=stages([("c", "lead", "2025-01-05")]),
        models="linear,w_shaped",
    )
    j = result.journeys.table
    path = dict(zip(j["deal_id"], j["path"], strict=True))
    assert path == {"d": "Email > Social > Webinar > Display > Referral", None: "Video"}
    # first touch Jan 1 10:00 to the close's date (its midnight): 18 days 14 hours
    assert j.filter(pl.col("deal_id") == "d")["days_to_close"].to_list() == [18 + 14 / 24]
    # W-shaped anchors: first Email, lead = the last touch of Jan 5 (Webinar), opportunity =
    # the last touch of Jan 10 (Display): 30 each; Social and Referral share 10
    assert_credit(
        credit(result, "w_shaped"),
        {"Email": 30, "Webinar": 30, "Display": 30, "Social": 5, "Referral": 5},
    )
    # the pipeline window holds the creation day's Display: 4 touches, 25 each
    assert_credit(
        credit(result, "linear", "pipeline_created"),
        {"Email": 25, "Social": 25, "Webinar": 25, "Display": 25},
    )


def test_a_time_of_day_ends_the_window_there(tmp_path):
    # the same export with times: lead Jan 5 12:00, created Jan 10 12:00, won Jan 20 12:00
    result = run_job(
        tmp_path,
        touches=touches(DATE_ONLY_T),
        deals=deals([("d", "c", _d(10, "12:00:00"), _d(20, "12:00:00"), "won", 100)]),
        stages=stages([("c", "lead", _d(5, "12:00:00"))]),
        models="linear,w_shaped",
    )
    path = dict(zip(result.journeys.table["deal_id"], result.journeys.table["path"], strict=True))
    assert path == {"d": "Email > Social > Webinar > Display", None: "Referral > Video"}
    # anchors: first Email, lead Social (09:00 <= 12:00), opportunity Webinar (Display is
    # after the 12:00 creation); Display shares the 10 alone
    assert_credit(
        credit(result, "w_shaped"), {"Email": 30, "Social": 30, "Webinar": 30, "Display": 10}
    )
    assert_credit(
        credit(result, "linear", "pipeline_created"),
        {"Email": 100 / 3, "Social": 100 / 3, "Webinar": 100 / 3},
    )


def test_a_date_only_lead_on_the_creation_day_ends_at_the_creation(tmp_path):
    # lead 2025-01-10 (a date), created 2025-01-10 10:00; touches Jan 5 Email, Jan 8 Social,
    # Jan 10 09:00 Webinar, Jan 10 15:00 Display. The lead came before the opportunity: its
    # anchor is the last touch up to 10:00 (Webinar, which is also the opportunity anchor),
    # not Display at 15:00, after the creation
    t = [
        ("c", _d(5, "12:00:00"), "Email"),
        ("c", _d(8, "12:00:00"), "Social"),
        ("c", _d(10, "09:00:00"), "Webinar"),
        ("c", _d(10, "15:00:00"), "Display"),
    ]
    result = run_job(
        tmp_path,
        touches=touches(t),
        deals=deals([("d", "c", _d(10, "10:00:00"), _d(20, "12:00:00"), "won", 90)]),
        stages=stages([("c", "lead", "2025-01-10")]),
        models="w_shaped",
    )
    # revenue: roles first (Email), lead and opportunity (both Webinar): 30 each, so Webinar
    # 60; Social and Display share 10
    assert_credit(
        credit(result, "w_shaped"), {"Email": 27, "Webinar": 54, "Social": 4.5, "Display": 4.5}
    )
    # pipeline created (Email, Social, Webinar): the same roles, Social the only other touch
    assert_credit(
        credit(result, "w_shaped", "pipeline_created"), {"Email": 27, "Webinar": 54, "Social": 9}
    )


@pytest.mark.parametrize(
    "others",
    [
        [("sql", _d(10, "11:00:00"))],
        [("lead", _d(10, "11:00:00"))],
        # a date-only SQL of that day hides nothing: the timed opportunity still bounds it
        [("sql", "2025-01-10"), ("opportunity", _d(10, "11:00:00"))],
        # a timed record dated before the lead (out-of-order stage data) hides nothing
        [("sql", _d(2, "08:00:00")), ("sql", _d(10, "11:00:00"))],
    ],
    ids=["timed-sql", "timed-lead", "dated-sql-timed-opportunity", "timed-record-before"],
)
def test_a_date_only_lead_ends_at_a_timed_record_of_its_day(tmp_path, others):
    # lead 2025-01-10 (a date), an SQL record at 11:00 that day (or a second lead record at
    # 11:00, from another export), the deal created Jan 12: the lead came no later, so its
    # anchor is the 09:00 Webinar, not the 15:00 Display (as the funnel's source rule reads
    # the same day). Touches: Email Jan 5, Webinar Jan 10 09:00, Display Jan 10 15:00,
    # Social Jan 11 (the opportunity anchor)
    t = [
        ("c", _d(5, "12:00:00"), "Email"),
        ("c", _d(10, "09:00:00"), "Webinar"),
        ("c", _d(10, "15:00:00"), "Display"),
        ("c", _d(11, "12:00:00"), "Social"),
    ]
    result = run_job(
        tmp_path,
        touches=touches(t),
        deals=deals([("d", "c", _d(12, "10:00:00"), _d(20, "12:00:00"), "won", 100)]),
        stages=stages([("c", "lead", "2025-01-10"), *(("c", s, ts) for s, ts in others)]),
        models="w_shaped",
    )
    assert_credit(
        credit(result, "w_shaped"), {"Email": 30, "Webinar": 30, "Social": 30, "Display": 10}
    )


def test_a_touch_later_on_a_date_only_close_day_is_zero_days_to_close(tmp_path):
    # created and won on 2025-01-07 (dates); the only touch is that day at 14:00: it is in
    # the journey, and the deal closed the day its journey started (0 days, not -0.58)
    result = run_job(
        tmp_path,
        touches=touches([("c", _d(7, "14:00:00"), "Email")]),
        deals=deals([("d", "c", "2025-01-07", "2025-01-07", "won", 9)]),
        models="first_touch",
    )
    j = result.journeys.table
    assert j.select("path", "days_to_close").rows() == [("Email", 0.0)]
    assert_credit(credit(result, "first_touch"), {"Email": 9})


def test_previous_window_end_belongs_to_the_earlier_deal(tmp_path):
    # a touch exactly at the first deal's close counts for it, not for the next deal
    t = [("c", _d(10), "Email"), ("c", _d(11), "Social")]
    d = [("d1", "c", _d(1), _d(10), "won", 1), ("d2", "c", _d(1), _d(12), "won", 2)]
    result = run_job(tmp_path, touches=touches(t), deals=deals(d), models="first_touch")
    j = result.journeys.table
    assert dict(zip(j["deal_id"], j["path"], strict=True)) == {"d1": "Email", "d2": "Social"}
    assert_credit(credit(result, "first_touch"), {"Email": 1, "Social": 2})


def test_customer_without_touches_is_zero_touch(tmp_path):
    # the only touches belong to another customer; the deal is valid and credited to (none)
    t = [("other", _d(1), "Email")]
    d = [("d", "c", _d(1), _d(2), "won", 9)]
    result = run_job(tmp_path, touches=touches(t), deals=deals(d), models="first_touch", out=True)
    assert result.inputs.rejected == {"touchpoints": 0, "deals": 0}
    assert_credit(credit(result, "first_touch"), {"(none)": 9})
    j = pl.read_parquet(result.out / "journeys.parquet").filter(pl.col("deal_id") == "d")
    assert j["n_touches"].to_list() == [0]
    assert j["first_channel"].to_list() == ["(none)"]


def test_open_deal_with_expected_close_date(tmp_path):
    # CRMs fill closed_at of open deals with the *expected* close date: the window still ends
    # at created_at (pipeline), and the deal has not closed, so days_to_close is empty
    t = [("c", _d(1), "Email"), ("c", _d(6), "Social")]
    d = [("d", "c", _d(5), _d(20), "open", 40)]
    result = run_job(tmp_path, touches=touches(t), deals=deals(d), models="last_touch")
    row = result.journeys.table.filter(pl.col("deal_id") == "d").row(0, named=True)
    assert row["path"] == "Email"
    assert row["days_to_close"] is None
    assert_credit(credit(result, "last_touch", "pipeline"), {"Email": 40})


def _digest_reference(ent, ts, keep, starts, ends, wanted):
    """numpy reference for ``_digest_rows``: entity first touches, the first touch at the
    latest ts, plus every touch tied (same entity and ts) with the first kept touch of a
    wanted journey's window (``starts:ends``)."""
    n = len(ent)
    new_ent = np.ones(n, dtype=bool)
    new_ent[1:] = ent[1:] != ent[:-1]
    latest = np.zeros(n, dtype=bool)
    if n:
        latest[np.argmax(ts)] = True  # argmax: the first of equal maxima
    new_key = new_ent.copy()
    new_key[1:] |= ts[1:] != ts[:-1]
    key = np.cumsum(new_key) - 1
    firsts = np.flatnonzero(keep)[starts[(ends > starts) & wanted]]
    marked = np.zeros(int(key[-1]) + 1 if n else 0, dtype=bool)
    marked[key[firsts]] = True
    rows = np.flatnonzero(new_ent | latest | marked[key]) if n else np.zeros(0, int)
    return rows, new_ent[rows]


def test_digest_rows_match_a_numpy_reference():
    import numpy as np

    from attrib._journey_kernels import _digest_rows

    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(0, 60))
        ent = np.sort(rng.integers(0, 6, n))
        ts = np.zeros(n, dtype=np.int64)
        for e in np.unique(ent):
            ts[ent == e] = np.sort(rng.integers(0, 5, int((ent == e).sum())))
        keep = rng.random(n) < 0.7
        cuts = np.sort(rng.integers(0, int(keep.sum()) + 1, int(rng.integers(0, 8))))
        offsets = np.concatenate([[0], cuts, [keep.sum()]]).astype(np.int64)
        wanted = rng.random(len(offsets) - 1) < 0.5
        # a window may start after its journey (touches before the revenue window)
        early = rng.integers(0, 3, len(offsets) - 1)
        starts = np.minimum(offsets[:-1] + early, offsets[1:])
        got = _digest_rows(ent, ts, keep, starts, offsets[1:], wanted)
        want = _digest_reference(ent, ts, keep, starts, offsets[1:], wanted)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_sparse_channel_campaign_pairs_give_the_same_codes(tmp_path, monkeypatch):
    """Beyond the dense-table size, present (channel, campaign) pairs are found by search."""
    import attrib.journey_codes as journey_codes

    rows = [(c, d, ch, f"{ch}-{i % 3}") for i, (c, d, ch) in enumerate(T)]
    kwargs = {
        "touches": touches(rows, ("customer_id", "ts", "channel", "campaign")),
        "deals": deals(D),
        "config": CONFIG,
    }
    dense = run_job(tmp_path / "a", **kwargs)
    monkeypatch.setattr(journey_codes, "_DENSE_PAIRS", 0)
    sparse = run_job(tmp_path / "b", **kwargs)
    assert dense.attribution.campaign_summary.equals(sparse.attribution.campaign_summary)
    assert dense.channel_summary.equals(sparse.channel_summary)


@pytest.mark.parametrize(
    "case",
    [
        "plain",
        "none-channel",
        "shared-dicts",
        "null-campaign",
        "null-and-none-campaign",
        "none-channel-null-campaign",
    ],
)
def test_digest_text_equals_the_touches_text(case):
    """The digest's channel and campaign come from the dictionaries when they give back each
    touch's own text, and from the touches otherwise: a channel literally "(none)", or shared
    dictionaries without a touch's (channel, campaign) pair. Either way a touch with no
    campaign (null) has campaign "(none)", as in the summaries."""
    from attrib.config import RunConfig
    from attrib.journey_codes import build_dictionaries
    from attrib.journeys import build_journeys

    channel = ["Email", "(none)" if case.startswith("none-channel") else "Ads", "Email", "Ads"]
    t = pl.DataFrame(
        {
            "entity_id": ["a", "a", "b", "b"],
            "ts": [datetime(2025, 1, d) for d in (1, 5, 3, 4)],
            "channel": channel,
            "campaign": [
                "spring",
                "(none)" if case == "null-and-none-campaign" else "x",
                None if "null" in case else "(none)",
                "fall",
            ],
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )
    d = pl.DataFrame(
        {
            "deal_id": ["d1"],
            "entity_id": ["a"],
            "created_at": [datetime(2025, 1, 2)],
            "closed_at": [datetime(2025, 1, 5)],
            "status": ["won"],
            "amount": [10.0],
        },
        schema_overrides={"created_at": pl.Datetime("us"), "closed_at": pl.Datetime("us")},
    )
    # shared dictionaries that know every channel but not every (channel, campaign) pair
    other = t.with_columns(pl.lit("other").alias("campaign"))
    dicts = build_dictionaries(other, RunConfig()) if case == "shared-dicts" else None
    digest = build_journeys(t, d, RunConfig(), dicts=dicts).digest
    assert digest.height == 3  # first touch of both entities and the latest touch (a's 2nd)
    by_row = {(e, ts): (c, k or "(none)") for e, ts, c, k in t.iter_rows()}
    for e, ts, c, k, _ in digest.iter_rows():
        assert by_row[(e, ts)] == (c, k)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize(
    ("second", "names"),
    [
        ("(none)", ("(none)", "(none)", "(none)", "spring")),  # also as text: filled first
        ("x", ("(none)", "(none)", "(none)", "spring", "x")),  # nulls coded, named after
    ],
)
def test_a_null_campaign_is_the_none_campaign(shared, second, names):
    """A touch with no campaign (null) is campaign "(none)", also beside touches whose
    campaign reads "(none)": same dictionaries, codes, digest and table as the frame with
    the nulls written out, whether a batch builds its dictionaries or shares a run's."""
    from attrib.config import RunConfig
    from attrib.journey_codes import build_dictionaries
    from attrib.journeys import build_journeys

    t = pl.DataFrame(
        {
            "entity_id": ["a", "a", "b", "b", "c"],
            "ts": [datetime(2025, 1, d) for d in (1, 2, 3, 4, 5)],
            "channel": ["Email", "Email", "Email", "Ads", "Ads"],
            "campaign": [None, second, "spring", None, None],
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )
    d = pl.DataFrame(
        {
            "deal_id": ["d1", "d2"],
            "entity_id": ["a", "b"],
            "created_at": [datetime(2025, 1, 3), datetime(2025, 1, 4)],
            "closed_at": [datetime(2025, 1, 6), datetime(2025, 1, 6)],
            "status": ["won", "won"],
            "amount": [10.0, 30.0],
        },
        schema_overrides={"created_at": pl.Datetime("us"), "closed_at": pl.Datetime("us")},
    )
    filled = t.with_columns(pl.col("campaign").fill_null("(none)"))
    dicts = build_dictionaries(t, RunConfig()) if shared else None
    a = build_journeys(t, d, RunConfig(), dicts=dicts)
    b = build_journeys(filled, d, RunConfig(), dicts=dicts)
    assert a.dicts.campaign_names == b.dicts.campaign_names
    assert a.dicts.campaign_names == names  # (none) of no channel, Ads, Email; Email's others
    np.testing.assert_array_equal(a.campaign, b.campaign)
    assert a.digest.equals(b.digest)
    assert a.table.equals(b.table)


@pytest.mark.parametrize("threshold", [0, 10**9])
def test_path_strings_in_one_or_two_threads_match_python(monkeypatch, threshold):
    """The paths joined by numba (two threads, each half of the text, or one) equal the
    names joined in Python, empty journeys and multi-byte names included."""

    import numpy as np

    import attrib.journey_table as journey_table

    monkeypatch.setattr(journey_table, "_PARALLEL_PATHS", threshold)
    rng = np.random.default_rng(3)
    channels = ("(none)", "Email", "Réseaux sociaux", "Ads", "直接")
    lengths = rng.integers(0, 5, 501)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    channel = rng.integers(1, len(channels), int(offsets[-1])).astype(np.int32)
    # a window may start after its journey does (touches before the revenue window)
    starts = offsets[:-1] + rng.integers(0, 2, 501) * (lengths > 0)
    got = journey_table.path_strings(starts, offsets[1:], channel, channels).to_list()
    want = [
        " > ".join(channels[c] for c in channel[a:b])
        for a, b in zip(starts.tolist(), offsets[1:].tolist(), strict=True)
    ]
    assert got == want


def _metrics_from(result, rows):
    from attrib.run import finish_metrics, map_run_metrics

    return finish_metrics(
        result.inputs,
        result.attribution,
        map_run_metrics(result.inputs, result.journeys.table, rows),
    )


def _assert_same_metrics(result):
    digest, every = result.journeys.digest, result.inputs.touches
    assert digest is not None
    assert digest.height < every.height
    by_digest, by_touches = _metrics_from(result, digest), _metrics_from(result, every)
    assert by_digest.keys() == by_touches.keys()
    for name, frame in by_digest.items():
        assert frame.equals(by_touches[name]), (name, frame, by_touches[name])


def test_metrics_from_the_digest_equal_metrics_from_every_touch(tmp_path):
    """The journey digest (each entity's first touch, won-start ties, one latest touch) is
    all the ROI/KPI/funnel step needs: every metrics table equals the one computed from all
    validated touches. c1's won deal (after a lost one) has a journey that starts at two
    tied touches after c1's first touch; c1's last touch is the latest of all, after every
    deal, so only the digest's latest row carries the end of the reporting window."""
    rows = [
        ("c1", "2025-01-01 09:00:00", "Email", "spring"),
        ("c1", "2025-01-10 09:00:00", "Ads", "z-brand"),
        ("c1", "2025-01-10 09:00:00", "Ads", "b-generic"),
        ("c1", "2025-01-10 12:00:00", "Email", "spring"),
        ("c1", "2025-03-20 09:00:00", "Social", "launch"),
        ("c3", "2025-01-05 09:00:00", "Social", "launch"),
        ("c2", "2025-02-01 09:00:00", "Email", "spring"),
    ]
    won = [
        ("d1", "c1", "2025-01-02", "2025-01-03", "lost", 100),
        ("d2", "c1", "2025-01-11", "2025-01-12", "won", 50),
        ("d3", "c3", "2025-01-06", "2025-01-20", "lost", 10),
    ]
    result = run_job(
        tmp_path,
        touches=touches(rows, ("customer_id", "ts", "channel", "campaign")),
        deals=deals(won),
        models="first_touch,linear",
    )
    _assert_same_metrics(result)


def test_metrics_from_the_digest_equal_metrics_on_the_sample():
    """The same on the shipped sample (stages, costs, open/won/lost deals)."""
    from pathlib import Path

    from attrib.run import run

    sample = Path(__file__).resolve().parents[1] / "data_samples"
    _assert_same_metrics(run(sample, models="first_touch,linear"))
