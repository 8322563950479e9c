"""Bounce classification quality: the shared corpus, leave-one-family-out, the robustness set.

Prints figures, asserts nothing (issue 18). Three tables, all scored by the shared
``tools/eval_bounces.py`` (its ``evaluate``, imported, so the figures are the ones that tool
prints):

1. the DEV corpus (``../shared/corpus/bounces``) as ``deliverwatch parse`` reads it;
2. leave-one-family-out: for each family module of ``parsers.bounce`` in turn, the messages
   that module claims are parsed again with it switched off, so what is measured is the
   generic path (the ``rfc3464`` and ``text`` readers, flufl.bounce, the classifier) on mail
   of a format it has no module for. Rows are sorted worst first; the last row switches
   every family module off at once;
3. the robustness set (``bench/robustness.py``): each corpus message perturbed five ways.

The same runs, through the console script, for ``eval_bounces.py``::

    python bench/robustness.py build bench/out/robustness
    python3 ../shared/tools/eval_bounces.py bench/out/robustness --by-family \\
        --cmd ".venv/bin/deliverwatch parse --format jsonl {files}"
    python3 ../shared/tools/eval_bounces.py ../shared/corpus/bounces --by-family \\
        --cmd ".venv/bin/python bench/bench_bounces.py parse --without postfix {files}"

(``parse --without all`` keeps only the generic readers.)

Usage: ``python bench/bench_bounces.py [--no-lofo] [--no-robustness]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import robustness  # noqa: E402 - bench/robustness.py

from parsers import parse_message  # noqa: E402
from parsers.bounce import FAMILIES, Family  # noqa: E402
from parsers.serialize import report_to_dict  # noqa: E402
from tests.shared_paths import SHARED  # noqa: E402

CORPUS = SHARED / "corpus" / "bounces"
EVAL = SHARED / "tools" / "eval_bounces.py"
GENERIC = frozenset({"rfc3464", "text"})
TARGETS = {"address_recall": 0.97, "reason": 0.95, "hard": 0.97}


def _eval_module() -> Any:
    spec = importlib.util.spec_from_file_location("eval_bounces", EVAL)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {EVAL}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def short(family: Family) -> str:
    return family.__name__.rsplit(".", 1)[1]


def families_without(names: Iterable[str]) -> tuple[Family, ...]:
    """FAMILIES minus the named modules ("all": every module but the generic readers)."""
    names = set(names)
    if "all" in names:
        return tuple(f for f in FAMILIES if short(f) in GENERIC)
    unknown = names - {short(f) for f in FAMILIES}
    if unknown:
        raise SystemExit(f"no such family module: {', '.join(sorted(unknown))}")
    return tuple(f for f in FAMILIES if short(f) not in names)


def predict(raw: bytes, families: Sequence[Family] | None = None) -> list[dict[str, Any]]:
    return report_to_dict(parse_message(raw, families=families))["recipients"]  # type: ignore[no-any-return]


def score(ev: Any, labels: list[dict[str, Any]], preds: dict[str, list[dict[str, Any]]]) -> Any:
    """eval_bounces' metrics, after its own reading of the JSON lines (it drops repeats)."""
    lines = "\n".join(json.dumps({"file": f, "recipients": r}) for f, r in preds.items())
    read, _bad = ev.parse_predictions(lines)
    metrics, by_family, confusions, _errors = ev.evaluate(labels, read)
    return metrics, by_family, confusions


def _fmt(counter: Any) -> str:
    return f"{100 * counter.rate():6.2f}% ({counter.ok}/{counter.n})" if counter.n else "    n/a"


def _rate(counter: Any) -> float:
    return counter.rate() if counter.n else 1.0


def corpus_table(ev: Any, labels: list[dict[str, Any]], raws: dict[str, bytes]) -> None:
    t0 = time.perf_counter()
    preds = {lab["file"]: predict(raws[lab["file"]]) for lab in labels}
    seconds = time.perf_counter() - t0
    metrics, _fam, confusions = score(ev, labels, preds)
    print(f"shared corpus {CORPUS}: {len(labels)} messages ({len(labels) / seconds:,.0f} msgs/s)")
    for key in ("address_recall", "address_precision", "status_class", "reason", "hard"):
        print(f"  {key:18s} {_fmt(metrics[key])}")
    if confusions:
        print(
            "  reason confusions: "
            + ", ".join(f"{w}->{g} {c}" for (w, g), c in confusions.most_common(6))
        )


def claimant(raw: bytes, full: list[dict[str, Any]]) -> Family | None:
    """The family module that claims ``raw``: the first whose reading alone is the full one."""
    if full == predict(raw, ()):
        return None  # no family module involved (feedback, auto-reply, not a bounce)
    for family in FAMILIES:
        if predict(raw, (family,)) == full:
            return family
    return None


def lofo_table(ev: Any, labels: list[dict[str, Any]], raws: dict[str, bytes]) -> None:
    """Leave-one-family-out, worst first; then every family module off at once."""
    by_module: dict[str, list[dict[str, Any]]] = {}
    for lab in labels:
        raw = raws[lab["file"]]
        module = claimant(raw, predict(raw))
        if module is not None and short(module) not in GENERIC:
            by_module.setdefault(short(module), []).append(lab)
    rows = []
    for name, claimed in by_module.items():
        on = {lab["file"]: predict(raws[lab["file"]]) for lab in claimed}
        without = families_without([name])
        off = {lab["file"]: predict(raws[lab["file"]], without) for lab in claimed}
        m_on = score(ev, claimed, on)[0]
        m_off = score(ev, claimed, off)[0]
        rows.append((name, len(claimed), m_on, m_off))
    rows.sort(key=lambda r: min(_rate(r[3][k]) for k in ("address_recall", "reason", "hard")))
    print(
        "leave-one-family-out (generic path on the messages each module claims; "
        "'on' = with the module):"
    )
    print(
        f"  {'module':14s} {'msgs':>4s}  {'recall off':>20s} {'reason off':>20s} "
        f"{'hard off':>20s}   on: recall/reason/hard"
    )
    for name, count, m_on, m_off in rows:
        on_text = "/".join(
            f"{100 * _rate(m_on[k]):.0f}" for k in ("address_recall", "reason", "hard")
        )
        print(
            f"  {name:14s} {count:4d}  {_fmt(m_off['address_recall']):>20s} "
            f"{_fmt(m_off['reason']):>20s} {_fmt(m_off['hard']):>20s}   {on_text}"
        )
    claimed_all = [lab for claimed in by_module.values() for lab in claimed]
    generic = families_without(["all"])
    off = {lab["file"]: predict(raws[lab["file"]], generic) for lab in claimed_all}
    m_all = score(ev, claimed_all, off)[0]
    print(
        f"  {'ALL modules off':14s} {len(claimed_all):4d}  {_fmt(m_all['address_recall']):>20s} "
        f"{_fmt(m_all['reason']):>20s} {_fmt(m_all['hard']):>20s}"
    )


def robustness_table(ev: Any) -> None:
    t0 = time.perf_counter()
    labels: list[dict[str, Any]] = []
    preds: dict[str, list[dict[str, Any]]] = {}
    for file, data, label in robustness.generate(CORPUS):
        labels.append(label)
        preds[file] = predict(data)
    seconds = time.perf_counter() - t0
    counted = [lab for lab in labels if lab["family"] not in robustness.EXTRA]
    metrics, _by_family, confusions = score(ev, counted, preds)
    by_family = score(ev, labels, preds)[1]
    print(
        f"robustness set (bench/robustness.py): {len(counted)} messages "
        f"(+{len(labels) - len(counted)} outside the targets), built and parsed in {seconds:.1f} s"
    )
    print(f"  {'perturbation':12s} {'recall':>22s} {'reason':>22s} {'hard':>22s}")

    def row(name: str, found: Any, note: str = "") -> None:
        print(
            f"  {name:12s} {_fmt(found['address_recall']):>22s} {_fmt(found['reason']):>22s} "
            f"{_fmt(found['hard']):>22s}{note}"
        )

    for name in robustness.PERTURBATIONS:
        if name in by_family:
            row(name, by_family[name])
    row("all", metrics, f"   precision {_fmt(metrics['address_precision'])}")
    verdicts = ", ".join(
        f"{key} {'met' if _rate(metrics[key]) >= goal else 'NOT met'} (>= {goal:.0%})"
        for key, goal in TARGETS.items()
    )
    print(f"  targets: {verdicts}")
    for name in robustness.EXTRA:
        if name in by_family:
            row(name, by_family[name], "   (not in 'all': see bench/robustness.py)")
    if confusions:
        print(
            "  reason confusions: "
            + ", ".join(f"{w}->{g} {c}" for (w, g), c in confusions.most_common(8))
        )


def parse_cmd(args: argparse.Namespace) -> int:
    """``deliverwatch parse --format jsonl`` with family modules switched off."""
    without = [n for spec in args.without for n in spec.split(",") if n]
    families = families_without(without) if without else None
    for path in args.files:
        report = report_to_dict(parse_message(Path(path).read_bytes(), families=families))
        print(json.dumps({"file": path, **report}, ensure_ascii=False))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-lofo", action="store_true")
    parser.add_argument("--no-robustness", action="store_true")
    sub = parser.add_subparsers(dest="command")
    parse = sub.add_parser("parse", help="print JSON lines with family modules switched off")
    parse.add_argument("--without", action="append", default=[], help="module name(s) or 'all'")
    parse.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "parse":
        return parse_cmd(args)
    if not (CORPUS / "labels.jsonl").is_file() or not EVAL.is_file():
        print(f"no labelled corpus at {CORPUS} or no {EVAL}: nothing to measure")
        return 0
    ev = _eval_module()
    labels = ev.load_labels(str(CORPUS))
    raws = {lab["file"]: (CORPUS / lab["file"]).read_bytes() for lab in labels}
    corpus_table(ev, labels, raws)
    if not args.no_lofo:
        lofo_table(ev, labels, raws)
    if not args.no_robustness:
        robustness_table(ev)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
