"""Provider groups from the shipped mapping: consumer domains first, then the MX host."""

from __future__ import annotations

from reports.providers import load_providers


def test_domains_and_mx_hosts_map_to_groups() -> None:
    p = load_providers()
    assert p.ids == ("gmail", "microsoft", "yahoo", "apple", "other")
    assert p.by_domain("GoogleMail.com.") == "gmail" and p.by_domain("aol.com") == "yahoo"
    assert p.by_domain("example.com") is None and p.by_domain(None) is None
    assert p.by_mx("ASPMX.L.GOOGLE.COM.") == "gmail"
    assert p.by_mx("acme-com.mail.protection.outlook.com") == "microsoft"
    assert (
        p.by_mx("mta7.am0.yahoodns.net") == "yahoo" and p.by_mx("mx01.mail.icloud.com") == "apple"
    )
    assert p.by_mx("notgoogle.com") is None  # a suffix match needs a label boundary
    observed = [
        ("acme.example", "aspmx.l.google.com", 5),
        ("acme.example", "mx.acme.example", 1),  # the majority decides
        ("own.example", "mx.own.example", 9),  # no provider MX: stays "other"
        ("gmail.com", "mx.elsewhere.example", 3),  # consumer domains never move
    ]
    assert p.classify(observed) == {"acme.example": "gmail"}
    table = p.domain_table({"acme.example": "gmail"})
    assert "acme.example" in table["gmail"] and "gmail.com" in table["gmail"]
