"""Tests of monitor.relay."""
