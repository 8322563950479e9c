"""Ingestion: mail and files in, observations out.

``mailbox`` (IMAP adapter) -> ``drain`` (fetch, parse, commit, move; exactly once) ->
``commit`` (one batch, one transaction: ledger, reports, the events core) with ``observe``
(what a parsed message means) and ``parse`` (the pure part run in worker processes);
``poller`` is the scheduled job with its back-off and IDLE. ``sendlog`` imports a send log,
``files`` reads local files for ``deliverwatch parse``.
"""
