"""Dual extraction: second extractions, their discrepancies, resolutions and agreement."""
