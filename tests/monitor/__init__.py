"""Test package (lets pytest import tests.servers helpers by their full name)."""
