"""Pooled results: specification, selection, effects kept by deltas, analysis, cache, answers."""
