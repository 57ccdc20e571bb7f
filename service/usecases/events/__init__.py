"""Events: the transactional outbox, the feed, and webhook endpoints (README "Events and webhooks")."""
