"""The KPI dashboard's display: :mod:`.dashboard` (scorecard, acquisition, content, trends,
daily pulse, data health, the summary), :mod:`.forecast` (the forecast column and section) and
:mod:`.context` (what ran when a day or a week stood out) and :mod:`.system` (NPS by channel)."""
