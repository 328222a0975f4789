"""What the segmentation report shows, built from its results only.

* :mod:`.scope` -- who was counted (as-of date, window, orders left out) and how they score;
* :mod:`.groups` -- the 8 segments and 4 tiers: profiles, rules and actions, Pareto;
* :mod:`.migration` -- who moved between tiers and segments since the earlier date;
* :mod:`.export` -- whether the activation lists were written;
* :mod:`.summary` -- the answer first: verdict, key numbers, next steps per tier;
* :mod:`.explore` -- the JupyterLab widget.
"""
