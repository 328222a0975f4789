"""The behaviour report's engine steps: funnels (:mod:`.funnel`, definitions in :mod:`.steps`),
paths (:mod:`.paths`) and key actions (:mod:`.actions`); each returns a small frame."""
