"""DNS and HTTPS checks of what decides whether mail is accepted.

Blocklists (:mod:`.dnsbl`), SPF (:mod:`.spf`), DKIM (:mod:`.dkim`), DMARC (:mod:`.dmarc`),
PTR/FCrDNS (:mod:`.ptr`), MX (:mod:`.mx`), MTA-STS (:mod:`.mtasts`) and TLS-RPT
(:mod:`.tlsrpt`). Record text is parsed by :mod:`parsers.dnsrec`; every DNS question goes
through :mod:`.resolver`, the only module here that imports dnspython's resolver.
"""
