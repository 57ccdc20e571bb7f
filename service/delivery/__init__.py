"""Webhook delivery: workers that claim endpoints, send their events in order, and retry.

Runs inside the API process by default (a lifespan thread) and as ``lma worker``.
"""
