"""Use cases: the only code that joins storage and statistics."""
