"""DNS authentication record text -> frozen records plus syntax findings. Pure: no DNS.

One module per record family, re-exported here so callers write ``parsers.dnsrec.parse_spf``:

* :mod:`.spf`    SPF records and macro strings (RFC 7208)
"""

from __future__ import annotations

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

__all__ = [
    "MacroContext",
    "Mechanism",
    "MechanismKind",
    "Qualifier",
    "SpfRecord",
    "expand_macros",
    "is_spf_record",
    "parse_spf",
    "validate_macro_string",
]
