"""The HTML is self-contained, accessible and escapes every value that came from an email."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from reports.model import DailyReport
from reports.render import render_daily, report_json, visible_text
from tests.builders.events import HOSTILE_ATTR, HOSTILE_SCRIPT, RTL


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.ids: list[str] = []
        self.attrs: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        for k, v in attrs:
            self.attrs.append((tag, k, v))
            if k == "id":
                self.ids.append(v)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def html(month: DailyReport) -> str:
    return render_daily(month)


@pytest.fixture(scope="module")
def parsed(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    return p


def test_hostile_strings_are_escaped_not_executed(html: str, parsed: Tags) -> None:
    assert parsed.tags["script"] == 0 and parsed.tags["img"] == 0
    assert HOSTILE_SCRIPT not in html and HOSTILE_ATTR not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # campaign, org name
    assert not any(k.startswith("on") for _t, k, _v in parsed.attrs)
    text = "".join(parsed.text)
    assert 'Reporter"><img src=x onerror=alert(1)>' in text  # shown as text, intact
    assert RTL not in html and "evil[U+202E]gnp.example" in text  # bidi override made visible
    assert "<bdi>evil[U+202E]gnp.example</bdi>" in html


def test_self_contained_no_network_no_script(html: str, parsed: Tags) -> None:
    assert parsed.tags["link"] == 0 and parsed.tags["iframe"] == 0 and parsed.tags["object"] == 0
    for tag, key, value in parsed.attrs:
        if tag == "a" and key == "href" and value and value.startswith("https://"):
            continue  # a link the reader may follow (a list's removal page), never loaded
        if key in ("src", "href") or (key.endswith("href") and tag != "svg"):
            assert value is not None and value.startswith("#"), (tag, key, value)
    assert "@import" not in html and not re.search(r"url\((?!#)", html)
    assert html.count("<style>") == 1


def test_accessible_structure(html: str, parsed: Tags) -> None:
    assert '<html lang="en">' in html and "<title>Deliverability report 2026-03-31</title>" in html
    assert parsed.tags["h1"] == 1 and parsed.tags["h2"] >= 10
    assert parsed.tags["table"] == html.count("<thead>")
    scopes = [v for t, k, v in parsed.attrs if t == "th" and k == "scope"]
    assert scopes.count("col") > 50 and scopes.count("row") > 20
    charts = re.findall(r"<svg role=\"img\" aria-labelledby=\"([^\"]+)\"", html)
    assert len(charts) == 4  # volume, bounce rate, complaint rate, suppressions
    for labelled in charts:
        for ref in labelled.split():
            assert f'id="{ref}"' in html
    assert len(parsed.ids) == len(set(parsed.ids)), "element ids must be unique"
    # colour is never the only signal: every verdict says its level in words
    for word in ("CRITICAL", "WARNING", "OK"):
        assert word in html
    assert "What to do:" in html and '<meta name="viewport"' in html


def test_figures_shown_as_computed(html: str) -> None:
    assert "0.21 % overall; Yahoo/AOL 0.53 %" in html
    assert "3.00 %" in html and "2\u2009000" in html  # bounce rate, sent (thin-space thousands)


def test_json_has_the_same_figures(month: DailyReport) -> None:
    data = json.loads(report_json(month))
    assert data["totals"]["sent"] == 2000 and data["totals"]["bounce_rate"] == 3.0
    apple = next(f for f in data["by_provider"] if f["key"] == "apple")
    assert apple["bounce_rate"] is None and apple["complaint_rate"] is None
    assert (
        data["verdicts"][0]["key"] == "complaint-rate"
        and data["verdicts"][0]["level"] == "critical"
    )
    assert data["dmarc"]["failing"][1]["header_from"] == "evil\u202egnp.example"  # JSON keeps data


def test_visible_text_marks_every_bidi_and_control_character() -> None:
    assert visible_text("a\u202eb\u2066c\u200fd\x07e") == "a[U+202E]b[U+2066]c[U+200F]d[U+0007]e"
    assert visible_text(None) == ""
