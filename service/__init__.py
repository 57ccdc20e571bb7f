"""Living meta-analysis service for peer support in mental health."""

__version__ = "0.1.0"
