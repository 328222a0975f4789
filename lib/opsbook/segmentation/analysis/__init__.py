"""Segmentation's results, built from the engine's small frames (no Ibis, nothing shown).

* :mod:`.rfm` -- the per-customer RFM table from the engine step and the orders it left out;
* :mod:`.segments` -- settings, scores, the 8-class and 4-tier models, profiles, the result;
* :mod:`.migration` -- tiers and segments at an earlier date against as_of;
* :mod:`.export` -- the activation lists written for CRM import (optionally pseudonymised);
* :mod:`.record` -- what a run records: ``metrics.json`` and the headline.
"""
