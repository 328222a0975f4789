"""The user-insight report's engine steps: Ibis expressions over the kept daily activity that
return small frames (stage counts, transition counts, pooled customer summaries) or bounded
ones (a hash-based sample of users' churn features, chunks of the population to score)."""

from opsbook.insight.queries.activity import (
    EVENT_TYPES,
    as_date,
    daily_activity,
    day_number,
    day_of,
    default_as_of,
    excluded_orders,
    first_activity_day,
    report_activity,
    source_of,
    top_event_types,
    type_column,
)
from opsbook.insight.queries.features import (
    KEYS,
    LABEL,
    batches,
    bounded_sample,
    features_expression,
    population,
    sample_order,
    user_columns,
)
from opsbook.insight.queries.lifecycle import (
    NONE,
    STAGES,
    high_value_expression,
    quantile_score,
    stage_counts,
    stage_expression,
    transition_counts,
)
from opsbook.insight.queries.value import (
    SUMMARY,
    customer_summary_expression,
    pooled_holdout_summary,
    pooled_summary,
)

__all__ = [
    "EVENT_TYPES",
    "KEYS",
    "LABEL",
    "NONE",
    "STAGES",
    "SUMMARY",
    "as_date",
    "batches",
    "bounded_sample",
    "customer_summary_expression",
    "daily_activity",
    "day_number",
    "day_of",
    "default_as_of",
    "excluded_orders",
    "features_expression",
    "first_activity_day",
    "high_value_expression",
    "pooled_holdout_summary",
    "pooled_summary",
    "population",
    "quantile_score",
    "report_activity",
    "sample_order",
    "source_of",
    "stage_counts",
    "stage_expression",
    "top_event_types",
    "transition_counts",
    "type_column",
    "user_columns",
]
