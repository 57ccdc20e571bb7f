"""Stateless analyses of effects sent in the request (POST /v1/analyses)."""
