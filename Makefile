# Shortcuts for the checks CI runs (.ci/run); `make check` before a commit.
.PHONY: check lint test test-fast snapshots

check: lint test

lint:
	ruff check
	ruff format --check gradtui tests scripts
	lint-imports
	mypy gradtui tests

# The README's test command (pytest), as .ci/run runs it.
test:
	pytest

# The tests not marked e2e or slow: no real-engine app runs, for a quick loop while editing.
test-fast:
	pytest -m "not e2e and not slow"

# Rewrite the SVG screen snapshots after an intended change to the screen; review the diff.
snapshots:
	pytest --snapshot-update tests/tui/test_snapshots.py tests/tui/test_plot_snapshots.py
