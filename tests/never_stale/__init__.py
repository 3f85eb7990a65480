"""The never-stale mutation corpus: idioms, their edits and a driver that runs them."""
