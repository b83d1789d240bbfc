"""Widgets grouped by pane: the settings form, plots and their data, the status and control rows."""
