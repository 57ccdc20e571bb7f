"""How far to trust a number: GRADE certainty, statements, judgements, sequential monitoring."""
