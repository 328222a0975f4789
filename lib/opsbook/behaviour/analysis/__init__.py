"""The behaviour report's analysis: typed results built from the engine's small frames --
funnels (:mod:`.funnel`), paths (:mod:`.paths`), key actions (:mod:`.actions`) -- and the
report's metrics (:mod:`.record`)."""
