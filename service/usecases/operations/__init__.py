"""Operations: API keys, idempotency, backup and restore, health."""
