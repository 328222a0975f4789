"""What the retention report shows: tables, charts, sentences and widgets, built from the
analysis results only."""
