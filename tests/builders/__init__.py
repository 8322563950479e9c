"""Generators of test inputs written for deliverwatch (no third-party samples copied)."""
