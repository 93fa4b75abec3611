"""The synthetic channels and every constant of the generative process (docs/SYNTH.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One synthetic channel: its true effect, how often it appears, and what it costs.

    ``effect`` is the additive lift on the log-odds of becoming an opportunity and of winning
    when a customer's journey contains the channel at least once. ``weight``, ``cycle_weight``
    and ``after_weight`` are its relative frequency among touches before the opportunity,
    during the sales cycle and after the deal closed. ``unit_cost`` is the spend per tracked
    touch (CPC or cost per attendee); 0 means the channel has no spend rows.
    """

    name: str
    effect: float
    weight: float
    cycle_weight: float
    after_weight: float
    touch_types: tuple[str, ...]
    slug: str | None = None
    themes: tuple[str, ...] = ()
    unit_cost: float = 0.0
    marketing: bool = True
    direct: bool = False


CHANNELS: tuple[ChannelSpec, ...] = (
    # name, effect, weight, cycle_weight, after_weight, touch_types, slug, themes, unit_cost
    ChannelSpec("Paid Search", 0.50, 0.14, 0.04, 0.00, ("ad_click",), "paid_search",
                ("brand", "generic", "competitor"), 4.50),
    ChannelSpec("Organic Search", 0.35, 0.16, 0.06, 0.10, ("session",)),
    ChannelSpec("Paid Social", 0.10, 0.08, 0.00, 0.00, ("ad_click",), "paid_social",
                ("prospecting", "retargeting"), 1.80),
    ChannelSpec("LinkedIn Ads", 0.40, 0.07, 0.02, 0.00, ("ad_click",), "linkedin",
                ("abm", "lead-gen"), 7.00),
    ChannelSpec("Display", 0.00, 0.08, 0.00, 0.00, ("ad_click",), "display",
                ("awareness", "retargeting"), 0.90),
    ChannelSpec("Email", 0.25, 0.10, 0.25, 0.30, ("email_click",), "email",
                ("newsletter", "nurture", "product-update"), 0.40),
    ChannelSpec("Webinar", 1.00, 0.03, 0.08, 0.10, ("webinar",), "webinar",
                ("demo", "industry"), 30.00),
    ChannelSpec("Events", 1.20, 0.02, 0.05, 0.00, ("event", "meeting"), "events",
                ("trade-show", "roadshow"), 150.00),
    ChannelSpec("Content/Blog", 0.20, 0.07, 0.10, 0.15, ("session",), None, (), 1.50),
    ChannelSpec("Direct", 0.05, 0.12, 0.20, 0.35, ("session",), direct=True),
    ChannelSpec("Referral", 0.60, 0.04, 0.00, 0.00, ("session",)),
    ChannelSpec("Partner Referral", 1.40, 0.02, 0.00, 0.00, ("meeting",), "partner",
                ("northwind", "contoso", "initech"), marketing=False),
    ChannelSpec("SDR Outbound", 0.80, 0.04, 0.20, 0.00, ("call", "meeting"), marketing=False),
    ChannelSpec("Review Sites", 0.70, 0.03, 0.00, 0.00, ("session",), "review_sites",
                ("g2", "capterra"), 3.00),
)  # fmt: skip
"""The 14 synthetic channels, in code order (the order of the probability vectors)."""

TRUE_CHANNEL_EFFECTS: dict[str, float] = {c.name: c.effect for c in CHANNELS}
"""Additive log-odds lift of having touched each channel (opportunity and win), see SYNTH.md."""

PAID_CHANNELS: frozenset[str] = frozenset(c.name for c in CHANNELS if c.unit_cost > 0)
"""Channels with monthly spend rows in ``costs``; every other channel has none."""

STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "offer", "customer")
"""Funnel stages in order; ``stages`` holds the first time each customer reached each one."""

# --- the generative process (each constant is documented in docs/SYNTH.md) -----------------
_DAY = 86_400
_CONTACTS_PER_ACCOUNT_EXTRA = 2.0  # contacts per account = 1 + Poisson(2)
_UNTRACKED_SHARE = 0.01  # contacts whose deal comes through an untracked path (zero touches)
_PRE_TOUCHES_EXTRA = 4.5  # touches before the opportunity = 1 + Poisson(4.5)
_STICKY = 0.30  # chance a touch repeats the customer's "home" channel
_GAP_MEAN_DAYS = 6.0  # exponential gap between consecutive pre-opportunity touches
_TIE_RATE = 0.05  # chance a gap is zero (two touches with the same timestamp)
_OPP_INTERCEPT = -3.4  # log-odds of an opportunity before channel effects
_WIN_INTERCEPT = -3.8  # log-odds of winning an opportunity before channel effects
_UNTRACKED_WIN_LIFT = 1.2  # log-odds lift of winning for zero-touch deals
_OPP_DELAY_MEAN_DAYS = 2.0  # last pre-opportunity touch -> opportunity created (1h + Exp)
_CYCLE_MEDIAN_DAYS = 45.0  # sales cycle: lognormal, median 45 days, sigma 0.6, at least 3 days
_CYCLE_SIGMA = 0.6
_CYCLE_TOUCHES = 2.5  # touches during the sales cycle: Poisson(2.5)
_AFTER_TOUCHES_WON = 1.5  # touches after a won deal closed: Poisson(1.5)
_AFTER_TOUCHES_LOST = 0.5  # touches after a lost deal closed: Poisson(0.5)
_AFTER_GAP_MEAN_DAYS = 20.0
_LEAD_RATE = 0.55  # contacts without an opportunity: P(lead), P(mql | lead), P(sql | mql)
_MQL_RATE = 0.50
_SQL_RATE = 0.40
_OFFER_RATE_LOST = 0.50  # lost deals that reached the offer stage (won deals always did)
_AMOUNT_MEDIAN = 15_000.0  # first deal amount: lognormal, median 15k, sigma 0.75
_AMOUNT_SIGMA = 0.75
_REPEAT_RATE = 0.20  # won customers who buy again
_REPEAT_GAP_MIN_DAYS = 60.0  # repeat deal created 60 + Exp(90) days after the first closed
_REPEAT_GAP_MEAN_DAYS = 90.0
_REPEAT_TOUCHES = 2.0  # touches between the first close and the repeat deal: Poisson(2)
_REPEAT_WIN_RATE = 0.55
_REPEAT_CYCLE_MEDIAN_DAYS = 30.0
_REPEAT_AMOUNT_MEDIAN = 9_000.0
_REPEAT_AMOUNT_SIGMA = 0.6
_CLICKS_PER_TRACKED_TOUCH = 6.0  # paid clicks bought per click from a known contact
_SPEND_NOISE_SIGMA = 0.25  # monthly spend = touches x unit cost x 6 x lognormal(0, 0.25)

_TOUCH_TYPES: tuple[str, ...] = tuple(
    sorted({t for c in CHANNELS for t in c.touch_types} | {"form_submit"})
)
_FORM_SUBMIT = _TOUCH_TYPES.index("form_submit")
_MAX_THEMES = max(max(len(c.themes) for c in CHANNELS), 1)

_TOML_HEAD = """\
# Channel flags for the attrib synthetic sample (written by attrib.synth.generate).
# Channels not listed here are marketing channels and not direct.
# direct = true    -> skipped by last-non-direct attribution
# marketing = false -> not counted as marketing-sourced / marketing-influenced
"""


def channels_toml() -> str:
    """The ``channels.toml`` text that goes with the synthetic data: the flags of every
    channel that is direct or not marketing (``ChannelSpec``), the others unlisted."""
    blocks = [
        f'[channels."{c.name}"]\n'
        + ("direct = true\n" if c.direct else "")
        + ("marketing = false\n" if not c.marketing else "")
        for c in CHANNELS
        if c.direct or not c.marketing
    ]
    return _TOML_HEAD + "".join("\n" + b for b in blocks)
