"""End-to-end tests: CLI and daemon against real Dovecot and the real databases."""
