"""What the user-insight page shows, from the analysis results only (no engine, no queries):
the summary, the lifecycle stages, the churn warning, predicted value, whom to contact, the
JupyterLab widget."""
