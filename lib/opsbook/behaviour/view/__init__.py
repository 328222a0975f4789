"""The behaviour page: the summary, funnels, paths (an offline Sankey), key actions and the
explorer -- drawn from the analysis results only."""
