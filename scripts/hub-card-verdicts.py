#!/usr/bin/env python3
"""What the Hugging Face Hub's own tools say of each card in fixtures/hub-cards/.

A card is rejected when huggingface_hub's ModelCard refuses it (the parser the Hub's tools use,
with its metadata errors not ignored) or when its `license` is not a Hub license id (the list
of core/src/hub-licenses.txt, taken from hub-docs; the Hub refuses other ids on push).

    hub-card-verdicts.py           writes fixtures/hub-cards/verdicts.json, and the verdicts of
                                   the YAML edge cases in fixtures/hub-cards/yaml-cases.json
    hub-card-verdicts.py --check   compares with both files; exit 1 on any difference

Each edge case is a front matter's YAML, judged as the card `---\n<yaml>\n---\n# x\n`.
"""

import json
import pathlib
import sys

import huggingface_hub
from huggingface_hub import ModelCard
from huggingface_hub.utils import logging

ROOT = pathlib.Path(__file__).resolve().parent.parent
CARDS = ROOT / "fixtures" / "hub-cards"
VERDICTS = CARDS / "verdicts.json"
CASES = CARDS / "yaml-cases.json"
LICENSES = {
    line.strip()
    for line in (ROOT / "core" / "src" / "hub-licenses.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
}


def license_problem(value):
    ids = value if isinstance(value, list) else [value]
    for item in ids:
        if not isinstance(item, str) or item not in LICENSES:
            return f"license {item!r} is not a Hub license id"
    return None


def verdict(path):
    # Bytes as the Hub stores them: line endings and any byte-order mark kept.
    return verdict_of(path.read_bytes().decode("utf-8"))


def verdict_of(text):
    try:
        card = ModelCard(text)
    except Exception as error:  # every refusal counts, whatever its class
        return {"verdict": "reject", "by": "huggingface_hub", "reason": f"{type(error).__name__}: {error}"}
    license = card.data.get("license")
    problem = license_problem(license) if license is not None else None
    if problem:
        return {"verdict": "reject", "by": "hub license list", "reason": problem}
    return {"verdict": "accept"}


def main():
    logging.set_verbosity_error()
    found = {path.name: verdict(path) for path in sorted(CARDS.glob("*.md")) if path.name != "SOURCE.md"}
    cases = json.loads(CASES.read_text(encoding="utf-8"))
    case_verdicts = [dict(case, **verdict_of(f"---\n{case['yaml']}\n---\n# x\n")) for case in cases["cards"]]
    if "--check" in sys.argv[1:]:
        recorded = json.loads(VERDICTS.read_text(encoding="utf-8"))["cards"]
        differences = [
            f"{name}: recorded {recorded.get(name, {}).get('verdict')}, huggingface_hub {huggingface_hub.__version__} says {now['verdict']} ({now.get('reason', '')})"
            for name, now in found.items()
            if recorded.get(name, {}).get("verdict") != now["verdict"]
        ]
        differences += [f"{name}: recorded but no such card" for name in recorded if name not in found]
        differences += [
            f"YAML case {now['yaml']!r}: recorded {then['verdict']}, huggingface_hub says {now['verdict']}"
            for then, now in zip(cases["cards"], case_verdicts)
            if then["verdict"] != now["verdict"]
        ]
        print("\n".join(differences) or f"{len(found)} cards and {len(case_verdicts)} YAML cases: every recorded verdict holds")
        return 1 if differences else 0
    document = {"huggingface_hub": huggingface_hub.__version__, "cards": found}
    VERDICTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    cases = {"huggingface_hub": huggingface_hub.__version__, "cards": [
        {"yaml": case["yaml"], "verdict": case["verdict"], "reason": case.get("reason", "")} for case in case_verdicts
    ]}
    CASES.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    rejected = sum(1 for v in found.values() if v["verdict"] == "reject")
    print(f"{len(found)} cards, {rejected} rejected: {VERDICTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
