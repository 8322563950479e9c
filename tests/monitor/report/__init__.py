"""Tests of monitor.report."""
