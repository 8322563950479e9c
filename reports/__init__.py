"""Aggregation and rendering: records and DataFrames in, HTML/CSV/JSON bytes out."""
