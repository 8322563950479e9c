"""Hostile inputs (issue 11): each class run in a memory-limited process, with a clear outcome."""
