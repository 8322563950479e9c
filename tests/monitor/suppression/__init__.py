"""Tests of monitor.suppression."""
