"""The daemon: every scheduled job in one list (``jobs``), the scheduler that runs them
(``scheduler``), the one-daemon-per-database lock and the clean stop (``run``), and the
config wiring they share with the CLI (``wiring``)."""
