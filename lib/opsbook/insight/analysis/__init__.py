"""The user-insight report's results, built from the engine's small or bounded frames (no Ibis,
nothing shown).

* :mod:`.settings` -- lifecycle rules, churn, value and risk-tier settings;
* :mod:`.lifecycle` -- stages, shares, transitions, rules and actions;
* :mod:`.churn` -- the time-split churn model, chosen and evaluated;
* :mod:`.evaluation` -- AUC, PR-AUC, bootstrap intervals, top-k %, calibration;
* :mod:`.model` -- the scikit-learn models, the feature encoding, per-user reasons;
* :mod:`.value` -- BG/NBD + Gamma-Gamma on the pooled summary, holdout check, value tiers;
* :mod:`.contact` -- scoring at the data's end in chunks, the risk x value matrix;
* :mod:`.record` -- ``metrics.json`` and the headline.
"""
