"""DNS authentication record text -> frozen records plus syntax findings. Pure: no DNS.

One module per record family, re-exported here so callers write ``parsers.dnsrec.parse_spf``:

* :mod:`.spf`    SPF records and macro strings (RFC 7208)
* :mod:`.dkim`   DKIM key records (RFC 6376 3.6.1, RFC 8301, RFC 8463)
* :mod:`.dmarc`  DMARC policy records (RFC 7489, RFC 9989)
* :mod:`.sts`    MTA-STS records and policies (RFC 8461), TLS-RPT records (RFC 8460)
* :mod:`.tags`   the tag=value list syntax they share (RFC 6376 3.2)
"""

from __future__ import annotations

from parsers.dnsrec.dkim import DkimKey, parse_dkim_key
from parsers.dnsrec.dmarc import DmarcPolicy, DmarcSpec, ReportUri, parse_dmarc, policy_rank
from parsers.dnsrec.spf import (
    MacroContext,
    Mechanism,
    MechanismKind,
    Qualifier,
    SpfRecord,
    expand_macros,
    is_spf_record,
    parse_spf,
    validate_macro_string,
)
from parsers.dnsrec.sts import (
    StsPolicy,
    StsRecord,
    TlsRptRecord,
    parse_sts_policy,
    parse_sts_record,
    parse_tlsrpt,
)

__all__ = [
    "DkimKey",
    "DmarcPolicy",
    "DmarcSpec",
    "MacroContext",
    "Mechanism",
    "MechanismKind",
    "Qualifier",
    "ReportUri",
    "SpfRecord",
    "StsPolicy",
    "StsRecord",
    "TlsRptRecord",
    "expand_macros",
    "is_spf_record",
    "parse_dkim_key",
    "parse_dmarc",
    "parse_spf",
    "parse_sts_policy",
    "parse_sts_record",
    "parse_tlsrpt",
    "policy_rank",
    "validate_macro_string",
]
