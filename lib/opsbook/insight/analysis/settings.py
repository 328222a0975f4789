"""Every choice behind a user-insight report, as typed frozen settings: bad values raise at
once, and every rule is printed in the report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opsbook.errors import InputError
from opsbook.insight.queries import STAGES
from opsbook.segmentation.analysis.segments import SCORE_LEVELS, TierRules
from opsbook.segmentation.queries import Frequency, Monetary

ChooseBy = Literal["pr_auc", "auc"]
ModelKind = Literal["logistic", "gradient_boosting"]
MODEL_KINDS: tuple[str, ...] = ("logistic", "gradient_boosting")


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


@dataclass(frozen=True)
class LifecycleRules:
    """The stage rules (:mod:`opsbook.insight.queries.lifecycle`), checked in the order of
    ``STAGES``: new = signed up in the last ``new_days`` days; churned / silent = no activity
    for more than ``churn_days`` / ``silent_days`` days; high-value = segmentation's high-value
    tier (``rfm`` rules, scored with ``k`` levels over the ``lookback_days`` window); returning
    = came back in the last ``returning_days`` days after more than ``silent_days`` idle days;
    active = the rest."""

    new_days: int = 14
    silent_days: int = 30
    churn_days: int = 90
    returning_days: int = 14
    rfm: TierRules = field(default_factory=TierRules)
    k: int = 5
    lookback_days: int | None = 365
    frequency: Frequency = "orders"
    monetary: Monetary = "total"

    def __post_init__(self) -> None:
        for name in ("new_days", "silent_days", "churn_days", "returning_days"):
            _positive(name, getattr(self, name))
        if not self.silent_days < self.churn_days:
            raise InputError(
                "user_insight.error.silent_days", silent=self.silent_days, churn=self.churn_days
            )
        if self.returning_days > self.silent_days:
            raise InputError(
                "user_insight.error.returning_days",
                returning=self.returning_days,
                silent=self.silent_days,
            )
        if self.k not in SCORE_LEVELS:
            raise ValueError(f"k must be one of {SCORE_LEVELS}, got {self.k}")
        if self.lookback_days is not None:
            _positive("lookback_days", self.lookback_days)
        self.rfm.resolved(self.k)  # bad tier rules raise here

    def rule_fields(self) -> dict[str, dict[str, Any]]:
        """Per stage, the numbers its rule text (``insight.rule.<stage>``) is filled with."""
        tier = self.rfm.resolved(self.k)
        return {
            "new": {"days": self.new_days},
            "churned": {"days": self.churn_days},
            "silent": {"days": self.silent_days},
            "high_value": {
                "min_m": tier.high_value_min_m,
                "min_f": tier.high_value_min_f,
                "k": self.k,
                "churn_days": tier.churn_days,
            },
            "returning": {"days": self.returning_days, "silent_days": self.silent_days},
            "active": {},
        }


def stage_actions(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The recommended action per stage: the i18n key ``insight.action.<stage>`` unless the
    config or the notebook overrides it (a text or a ``{zh: ..., en: ...}`` mapping), as
    segmentation's tier actions."""
    given = dict(overrides or {})
    unknown = sorted(set(given) - set(STAGES))
    if unknown:
        raise InputError(
            "user_insight.error.actions", unknown=", ".join(unknown), valid=", ".join(STAGES)
        )
    return {stage: given.get(stage) or f"insight.action.{stage}" for stage in STAGES}


@dataclass(frozen=True)
class RiskTiers:
    """Churn-risk tiers by predicted probability: high >= ``high``, medium >= ``medium``."""

    medium: float = 0.3
    high: float = 0.6

    def __post_init__(self) -> None:
        if not 0 < self.medium < self.high < 1:
            raise ValueError(
                f"risk tiers need 0 < medium < high < 1, got {self.medium} and {self.high}"
            )


@dataclass(frozen=True)
class ChurnSettings:
    """The churn warning: label "active (an event or paid order in the ``active_days`` days
    before the cutoff) -> none in the next ``horizon_days`` days"; features over ``windows``;
    counts of the ``event_types`` most frequent events over the middle window; at most
    ``max_users`` users per cutoff reach pandas (a hash sample with ``seed``); ``bootstrap``
    resamples for the intervals; the better model by ``choose_by`` on the evaluation cutoff;
    ``logistic_c``: the inverse L2 strength of the logistic regression; the page counts the
    high-risk users' first reasons on a random sample of at most ``reason_users`` of them."""

    horizon_days: int = 30
    active_days: int = 30
    windows: tuple[int, ...] = (7, 30, 90)
    event_types: int = 6
    max_users: int = 200_000
    seed: int = 0
    bootstrap: int = 200
    choose_by: ChooseBy = "pr_auc"
    logistic_c: float = 1.0
    tiers: RiskTiers = field(default_factory=RiskTiers)
    chunk_rows: int = 100_000
    reason_users: int = 20_000

    def __post_init__(self) -> None:
        for name in ("horizon_days", "active_days", "max_users", "chunk_rows", "reason_users"):
            _positive(name, getattr(self, name))
        if not self.windows or any(int(w) < 1 for w in self.windows):
            raise ValueError(f"windows must be whole numbers of days >= 1, got {self.windows}")
        if len(set(self.windows)) != len(self.windows):
            raise ValueError(f"windows must differ, got {self.windows}")
        if self.event_types < 0 or self.bootstrap < 0:
            raise ValueError("event_types and bootstrap must not be negative")
        if self.choose_by not in ("pr_auc", "auc"):
            raise ValueError(f"choose_by must be pr_auc or auc, got {self.choose_by!r}")
        if not self.logistic_c > 0:
            raise ValueError(f"logistic_c must be positive, got {self.logistic_c}")

    @property
    def type_window(self) -> int:
        """The window the per-type event counts cover: the middle one (30 of 7/30/90)."""
        ordered = sorted(self.windows)
        return ordered[len(ordered) // 2]

    @property
    def history_days(self) -> int:
        """Days of history the time split needs before the data's end: the training cutoff
        lies 2 horizons back, and its longest window before that."""
        return 2 * self.horizon_days + max(self.windows)


@dataclass(frozen=True)
class ValueSettings:
    """Predicted customer value: CLV over ``horizon_months`` periods of ``period_days`` days,
    discounted by ``discount_rate`` per period, times ``margin``; the holdout check fits on the
    history before the last ``holdout_days`` days; value tiers: the top ``high_share`` of
    customers by predicted CLV are high, the next ``medium_share`` medium, the rest low."""

    horizon_months: int = 12
    period_days: float = 30.0
    discount_rate: float = 0.01
    margin: float = 1.0
    holdout_days: int = 60
    high_share: float = 0.2
    medium_share: float = 0.3

    def __post_init__(self) -> None:
        _positive("horizon_months", self.horizon_months)
        _positive("holdout_days", self.holdout_days)
        if not self.period_days > 0 or not 0 < self.margin <= 1 or not self.discount_rate > -1:
            raise ValueError("period_days > 0, 0 < margin <= 1 and discount_rate > -1 are needed")
        if not (
            self.high_share > 0
            and self.medium_share > 0
            and self.high_share + self.medium_share < 1
        ):
            raise ValueError("high_share and medium_share must be positive and sum below 1")
