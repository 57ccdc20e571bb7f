"""Repositories: the only code that runs queries."""
