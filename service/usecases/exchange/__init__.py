"""Data exchange: import Metapsy and metafor-style CSV files, export answers as CSV and R."""
