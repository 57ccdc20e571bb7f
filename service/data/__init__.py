"""Data files shipped inside the package (package data in the wheel)."""
