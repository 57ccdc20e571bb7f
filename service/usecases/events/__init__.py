"""Events: the transactional outbox, the feed and webhooks (README: Events and webhooks)."""
