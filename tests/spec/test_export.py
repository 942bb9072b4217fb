"""spec export: the national template (Markdown, HTML) and FHIR R4 Measure round-trip the specs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import kadindicators as kad
from kadindicators.cli import main
from kadindicators.spec.export import (
    EXPRESSION_LANGUAGE,
    FHIR_BASE_URL,
    TRANSLATION,
    export,
    measure,
    measure_bundle,
    national_fields,
    national_html,
    national_markdown,
)
from kadindicators.spec.indicators import jsonable

SPECS = kad.catalogue()
IDS = [s.id for s in SPECS]


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def _raw(sid: str) -> dict[str, Any]:
    return copy.deepcopy(dict(jsonable(kad.get_indicator(sid).raw)))


# -- the national template ---------------------------------------------------------------------

def _md_sections(md: str) -> dict[str, dict[str, str]]:
    """{indicator id: {field label: unescaped text}} from the Markdown document."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, list[str]] = {}
    label = ""
    for line in md.splitlines():
        if line.startswith("## "):
            sid = line[3:].split(":")[0]
            current = {}
            out[sid] = current  # type: ignore[assignment]
        elif line.startswith("### "):
            label = re.sub(r"\\(.)", r"\1", line[4:])
            current[label] = []
        elif label and line.strip():
            current[label].append(line)
    return {sid: {k: re.sub(r"\\(.)", r"\1", " ".join(v)) for k, v in sec.items()}  # type: ignore[attr-defined]
            for sid, sec in out.items()}


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_markdown_round_trips_the_template_fields(lang: str) -> None:
    """Each field's text, unescaped from the Markdown, is the spec's text."""
    sections = _md_sections(national_markdown(SPECS, lang))
    assert list(sections) == IDS
    for spec in SPECS:
        raw = spec.raw
        sec = sections[spec.id]
        labels = {f.key: f.label for f in national_fields(spec, lang)}
        for key in ("description", "rationale", "interpretation", "data_source", "adjustment"):
            assert _norm(sec[labels[key]]) == _norm(raw[key][lang]), (spec.id, key)
        assert _norm(sec[labels["name"]]) == _norm(raw["title"][lang])
        for key in ("numerator", "denominator", "population"):
            assert _norm(sec[labels[key]]).startswith(_norm(raw[key]["text"][lang])), (spec.id, key)
        for e in raw["exclusions"]:
            assert f"{e['id']}: {_norm(e['text'][lang])}" in _norm(sec[labels["exclusions"]])
        assert _norm(sec[labels["owner"]]) == _norm(raw["owner"])
        for r in raw["references"]:
            assert _norm(r["citation"]) in _norm(sec[labels["references"]])


def test_markdown_escapes_what_markdown_would_interpret() -> None:
    """Markup in a spec's text is shown literally."""
    raw = _raw("KAD-Q01")
    raw["description"]["en"] = "# not a heading, *not emphasis*, <b>not html</b> | not a cell"
    md = national_markdown([raw], "en")
    assert "\\# not a heading, \\*not emphasis\\*, \\<b\\>not html\\</b\\> \\| not a cell" in md


class _Template(HTMLParser):
    """Collects the rows of the template tables and checks that tags are balanced."""

    VOID = frozenset({"meta", "br", "hr", "img", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.rows: dict[str, dict[str, tuple[str, str]]] = {}
        self.section = ""
        self.field: str | None = None
        self.row_depth = 0
        self.part = ""
        self.text: dict[str, list[str]] = {}
        self.links: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "section":
            self.section = str(a["id"])
            self.rows[self.section] = {}
        elif tag == "tr" and "data-field" in a:
            self.field, self.row_depth = str(a["data-field"]), len(self.stack)
            self.text = {"th": [], "td": []}
        elif tag in ("th", "td") and self.field is not None and len(self.stack) == self.row_depth + 1:
            self.part = tag
        elif tag == "a":
            self.links.append(str(a.get("href")))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack[-3:], tag)
        self.stack.pop()
        if tag == self.part and len(self.stack) == self.row_depth:
            self.part = ""
        elif tag == "tr" and self.field is not None and len(self.stack) == self.row_depth - 1:
            self.rows[self.section][self.field] = (" ".join(self.text["th"]), " ".join(self.text["td"]))
            self.field = None

    def handle_data(self, data: str) -> None:
        if self.field is not None and self.part:
            self.text[self.part].append(data)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_html_is_self_contained_well_formed_and_round_trips(lang: str) -> None:
    """Balanced tags, no script or external resource; each field's text is the spec's."""
    page = national_html(SPECS, lang)
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    p = _Template()
    p.feed(page)
    p.close()
    assert p.stack == []
    assert not p.tags & {"script", "link", "img", "iframe", "object"} and " src=" not in page
    assert all(h.startswith(("https://", "http://", "#")) for h in p.links)
    assert list(p.rows) == [i.lower() for i in IDS]
    for spec in SPECS:
        rows = p.rows[spec.id.lower()]
        fields = national_fields(spec, lang)
        assert list(rows) == [f.key for f in fields]
        for f in fields:
            assert _norm(rows[f.key][0]) == f.label
        raw = spec.raw
        for key in ("description", "rationale", "interpretation", "data_source", "adjustment"):
            assert _norm(rows[key][1]) == _norm(raw[key][lang])
        assert _norm(rows["numerator"][1]).startswith(_norm(raw["numerator"]["text"][lang]))


def test_html_escapes_text_and_links_only_http() -> None:
    """Text cannot inject markup, and only http(s) URLs become links."""
    raw = _raw("KAD-Q01")
    raw["description"]["nb"] = '<script>alert("x")</script> & "quoted"'
    raw["references"] = [{"citation": "Bad", "url": "javascript:alert(1)"},
                         {"citation": "Good", "url": "https://example.org/a?b=1&c=2"}]
    page = national_html([raw], "nb")
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in page
    assert 'href="javascript' not in page and 'href="https://example.org/a?b=1&amp;c=2"' in page


# -- FHIR Measure ----------------------------------------------------------------------------

fhir_measure = pytest.importorskip("fhir.resources.R4B.measure", reason="fhir.resources (test extra)")
fhir_bundle = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources (test extra)")


@pytest.mark.parametrize("lang", ["nb", "en"])
@pytest.mark.parametrize("sid", IDS)
def test_measure_is_valid_fhir_and_round_trips(sid: str, lang: str) -> None:
    """Each Measure validates against the FHIR models and serialises back to the same JSON."""
    m = measure(kad.get_indicator(sid), lang=lang)
    model = fhir_measure.Measure.model_validate(m)
    assert model.model_dump(mode="json", exclude_none=True) == json.loads(json.dumps(m))


def _pointer(doc: Any, pointer: str) -> Any:
    for part in pointer.lstrip("/").split("/"):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


@pytest.mark.parametrize("sid", IDS)
def test_measure_maps_the_spec(sid: str) -> None:
    """Identity, scoring, direction, populations, strata, citations and review dates come from the spec."""
    spec = kad.get_indicator(sid)
    raw = spec.raw
    m = measure(spec, lang="en")
    assert m["url"] == f"{FHIR_BASE_URL}/Measure/{sid}" and m["version"] == raw["version"]
    assert m["identifier"][0]["value"] == sid and m["title"] == _norm(raw["title"]["en"])
    tr = m["_title"]["extension"][0]
    assert tr["url"] == TRANSLATION and tr["extension"][1]["valueString"] == _norm(raw["title"]["nb"])
    scoring = {"proportion": "proportion", "rate_per_1000": "ratio", "ratio": "ratio",
               "mean": "continuous-variable", "median": "continuous-variable"}[raw["unit"]]
    assert m["scoring"]["coding"][0]["code"] == scoring
    notation = {"higher_is_better": "increase", "lower_is_better": "decrease"}.get(raw["direction"])
    assert (m.get("improvementNotation", {}).get("coding", [{}])[0].get("code")) == notation
    group = m["group"][0]
    codes = [p["code"]["coding"][0]["code"] for p in group["population"]]
    if scoring == "continuous-variable":
        assert codes[:2] == ["initial-population", "measure-population"] and codes[-1] == "measure-observation"
    else:
        assert codes[:2] == ["initial-population", "denominator"] and codes[-1] == "numerator"
    assert ("denominator-exclusion" in codes or "measure-population-exclusion" in codes) == bool(raw["exclusions"])
    for p in group["population"]:
        crit = p["criteria"]
        assert crit["language"] == EXPRESSION_LANGUAGE
        ref, pointer = crit["expression"].split("#")
        assert ref == f"{sid}|{raw['version']}" and _pointer(raw, pointer) is not None
    assert [s["code"]["coding"][0]["code"] for s in group.get("stratifier", [])] == list(raw["stratifications"])
    assert [a["citation"] for a in m.get("relatedArtifact", [])] == [r["citation"] for r in raw["references"]]
    assert m["lastReviewDate"] == raw["review"]["date_reviewed"]
    adopted = [h["date"] for h in raw["status_history"] if h["status"] == "adopted"]
    assert m.get("approvalDate") == (adopted[0] if adopted else None)
    assert m["publisher"] == raw["owner"]


@pytest.mark.parametrize(("status", "fhir"), [("draft", "draft"), ("proposed", "draft"),
                                               ("adopted", "active"), ("retired", "retired")])
def test_status_mapping_and_effective_period(status: str, fhir: str) -> None:
    """draft and proposed are draft, adopted is active, retired is retired (with the period's end)."""
    raw = _raw("KAD-Q01")
    raw["status_history"] = [{"status": "draft", "date": "2026-01-01"}, {"status": "adopted", "date": "2026-06-01"},
                             {"status": "retired", "date": "2030-01-01"}]
    raw["status_history"] = raw["status_history"][: {"draft": 1, "proposed": 1, "adopted": 2, "retired": 3}[status]]
    raw["status"] = status
    m = measure(raw)
    assert m["status"] == fhir
    fhir_measure.Measure.model_validate(m)
    if status == "retired":
        assert m["effectivePeriod"] == {"start": "2026-06-01", "end": "2030-01-01"}
    elif status == "adopted":
        assert m["effectivePeriod"] == {"start": "2026-06-01"} and m["approvalDate"] == "2026-06-01"
    else:
        assert "effectivePeriod" not in m and "approvalDate" not in m


def test_bundle_and_export_text() -> None:
    """Several ids give a collection Bundle that validates; one id gives one Measure."""
    b = measure_bundle(SPECS, lang="nb")
    fhir_bundle.Bundle.model_validate(b)
    assert [e["resource"]["id"] for e in b["entry"]] == IDS
    one = json.loads(export(["KAD-U01"], "fhir-measure", lang="en", base_url="https://fhir.example.no/kad/"))
    assert one["url"] == "https://fhir.example.no/kad/Measure/KAD-U01"
    assert json.loads(export(["KAD-U01", "KAD-Q01"], "fhir-measure"))["resourceType"] == "Bundle"
    with pytest.raises(ValueError, match="format"):
        export(["KAD-U01"], "pdf")
    with pytest.raises(kad.errors.SpecError, match="unknown indicator"):
        export(["KAD-X99"], "national-md")


def test_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """spec export writes each format; missing ids and unknown ids are refused."""
    md = tmp_path / "out" / "q01.md"
    assert main(["spec", "export", "KAD-Q01", "--format", "national-md", "--lang", "en", "-o", str(md)]) == 0
    assert "### Numerator" in md.read_text(encoding="utf-8")
    page = tmp_path / "all.html"
    assert main(["spec", "export", "--all", "--format", "national-html", "-o", str(page)]) == 0
    assert page.read_text(encoding="utf-8").count('<section id="') == len(IDS)
    capsys.readouterr()
    assert main(["spec", "export", "KAD-U04", "--format", "fhir-measure"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["resourceType"] == "Measure" and data["language"] == "nb"
    assert main(["spec", "export", "--format", "fhir-measure"]) == 2
    assert main(["spec", "export", "KAD-Q01", "--all", "--format", "fhir-measure"]) == 2
    assert main(["spec", "export", "KAD-X99", "--format", "fhir-measure"]) == 3
    assert main(["spec", "export", "KAD-Q01", "--format", "fhir-measure", "--base-url", "javascript:x"]) == 2


def test_fields_of_a_draft_with_todo_texts(tmp_path: Path) -> None:
    """A scaffolded draft exports too (as draft), so it can be reviewed in the national layout."""
    from kadindicators import _yaml
    from kadindicators.spec.scaffold import render_spec

    raw = jsonable(_yaml.loads(render_spec("KAD-Q98", title_nb="Andel x", title_en="Share of x")))
    assert isinstance(raw, Mapping)
    m = measure(raw)
    assert m["status"] == "draft" and "approvalDate" not in m
    fhir_measure.Measure.model_validate(m)
    assert "TODO" in national_markdown([raw])
