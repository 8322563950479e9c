"""DNS and HTTPS checks of what decides whether mail is accepted.

Blocklists (:mod:`.dnsbl` with the zone catalogue in :mod:`.zones`), SPF (:mod:`.spf`,
:mod:`.spf_terms`), DKIM (:mod:`.dkim`), DMARC (:mod:`.dmarc`), PTR/FCrDNS (:mod:`.ptr`), MX
(:mod:`.mx`), MTA-STS (:mod:`.mtasts`) and TLS-RPT (:mod:`.tlsrpt`), run together by
:mod:`.auth`. Record text is parsed by :mod:`parsers.dnsrec`; every DNS question goes through
:mod:`.resolver` (answers, never exceptions) over :mod:`.transport` (reused UDP sockets,
answers matched by ID and question). :mod:`.watch` is the daemon's and the CLI's run: check,
store, alert.
"""
