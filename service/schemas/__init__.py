"""Pydantic request and response models, kept apart from the tables."""
