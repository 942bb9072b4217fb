"""Export indicator specifications: the national template (Markdown, HTML) and FHIR R4 ``Measure``.

Everything here is generated from the spec files (``spec/indicators/<ID>.yaml``); nothing
is written twice.

- :func:`national_markdown` and :func:`national_html` lay out the fields of the Norwegian
  national quality indicator description (name, description, purpose and rationale, numerator,
  denominator, exclusions, data source, adjustment, interpretation, quality dimension, owner,
  ...) for one or more indicators, in ``nb`` or ``en``. The HTML is one self-contained file
  (inline style, no scripts, no external resources).
- :func:`measure` makes a FHIR R4 ``Measure`` resource (JSON as a ``dict``);
  :func:`measure_bundle` a ``collection`` Bundle of several.

FHIR mapping (see also ``x-fhir`` in ``spec/indicator.schema.json``):

- ``url`` is ``<base>/Measure/<id>``; ``identifier`` has the system
  ``<base>/NamingSystem/indicator-id``; ``version`` is the spec's; ``name`` is the id with
  ``_`` for ``-``.
- ``status``: ``draft`` and ``proposed`` → ``draft``, ``adopted`` → ``active``, ``retired`` →
  ``retired``.
- ``title``, ``description``, ``purpose`` and ``rationale`` (both from the spec's
  ``rationale``) and ``clinicalRecommendationStatement`` (``interpretation``) are in ``lang``;
  the other language is attached as the core ``translation`` extension of the element.
- ``date`` is the latest date of ``status_history`` and ``changelog``; ``approvalDate`` the
  date the spec became ``adopted``; ``effectivePeriod`` runs from adoption to retirement;
  ``lastReviewDate`` is ``review.date_reviewed``; ``author`` and ``reviewer`` are
  ``review.authored_by`` and ``review.checked_by``; ``publisher`` is ``owner``.
- ``type`` is the HL7 measure type where one exists, and the spec's own code; ``topic`` is the
  ``quality_dimension``.
- ``scoring``: ``proportion`` → proportion, ``rate_per_1000`` and ``ratio`` → ratio, ``mean``
  and ``median`` → continuous-variable (with the extension
  ``<base>/StructureDefinition/aggregate-method`` on the group).
- ``improvementNotation``: ``higher_is_better`` → increase, ``lower_is_better`` → decrease.
- ``riskAdjustment`` is ``adjustment``; ``guidance`` holds the period attribution, data source
  and requirements, statistical policy, target levels and reporting levels (Markdown);
  ``relatedArtifact`` lists the ``references`` as citations.
- ``group.population``: ``population`` → initial-population; for proportion and ratio
  ``denominator``, ``exclusions`` (one ``denominator-exclusion`` for all) and ``numerator``; for
  a continuous variable measure-population, measure-population-exclusion and
  measure-observation. ``group.stratifier`` has one entry per allowed stratification.

Criteria are expressions in the language ``text/x-kad-spec``: a reference into the spec
document, ``<id>|<version>#<JSON pointer>`` (for example ``KAD-Q01|1.0.0#/numerator``), with the
clause's prose and the schema fields it uses as the description. They are meant for people and
for this library, not for a CQL engine.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .._resources import spec_root
from ..errors import SpecError
from .indicators import IndicatorSpec, _load_all

__all__ = [
    "FHIR_BASE_URL",
    "FORMATS",
    "TemplateField",
    "export",
    "measure",
    "measure_bundle",
    "national_fields",
    "national_html",
    "national_markdown",
]

#: The default base of the canonical URLs of exported resources (``<base>/Measure/<id>``).
FHIR_BASE_URL = "https://kadindicators.example/fhir"
#: The output formats of :func:`export`.
FORMATS = ("national-md", "national-html", "fhir-measure")
#: Expression language of the criteria: a reference into the spec document.
EXPRESSION_LANGUAGE = "text/x-kad-spec"

MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
MEASURE_SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
MEASURE_TYPE = "http://terminology.hl7.org/CodeSystem/measure-type"
IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"

STATUS = {"draft": "draft", "proposed": "draft", "adopted": "active", "retired": "retired"}
SCORING = {"proportion": "proportion", "rate_per_1000": "ratio", "ratio": "ratio",
           "mean": "continuous-variable", "median": "continuous-variable"}
IMPROVEMENT_NOTATION = {"higher_is_better": "increase", "lower_is_better": "decrease"}
HL7_TYPE = {"structure": "structure", "process": "process", "outcome": "outcome",
            "patient-reported": "patient-reported-outcome"}


def population_codes(unit: str) -> dict[str, str]:
    """The FHIR population code of each part of the spec, by the indicator's ``unit``.

    Examples
    --------
    >>> population_codes("proportion")["exclusions"]
    'denominator-exclusion'
    >>> population_codes("mean")["numerator"]
    'measure-observation'

    .. versionadded:: 0.2.0
    """
    if SCORING.get(unit) == "continuous-variable":
        return {"population": "initial-population", "denominator": "measure-population",
                "numerator": "measure-observation", "exclusions": "measure-population-exclusion"}
    return {"population": "initial-population", "denominator": "denominator",
            "numerator": "numerator", "exclusions": "denominator-exclusion"}


def code_system(base_url: str, name: str) -> str:
    """The URI of one of the standard's code systems (``<base>/CodeSystem/<name>``)."""
    return f"{base_url.rstrip('/')}/CodeSystem/{name}"


# -- labels (nb, en) --------------------------------------------------------------------------

def _l(nb: str, en: str) -> dict[str, str]:
    return {"nb": nb, "en": en}


STATUS_LABEL = {"draft": _l("utkast", "draft"), "proposed": _l("foreslått", "proposed"),
                "adopted": _l("vedtatt", "adopted"), "retired": _l("utgått", "retired")}
TYPE_LABEL = {"structure": _l("strukturindikator", "structure indicator"),
              "process": _l("prosessindikator", "process indicator"),
              "outcome": _l("resultatindikator", "outcome indicator"),
              "patient-reported": _l("pasientrapportert indikator", "patient-reported indicator"),
              "utilisation": _l("forbruksindikator", "utilisation indicator"),
              "equity": _l("likeverdsindikator", "equity indicator")}
DIMENSION_LABEL = {"effective": _l("virkningsfulle", "effective"),
                   "safe": _l("trygge og sikre", "safe"),
                   "user_involving": _l("involverer brukere og gir dem innflytelse", "user-involving"),
                   "coordinated": _l("er samordnet og preget av kontinuitet", "coordinated"),
                   "efficient": _l("utnytter ressursene på en god måte", "efficient"),
                   "accessible_equitable": _l("er tilgjengelige og rettferdig fordelt",
                                              "accessible and equitable")}
UNIT_LABEL = {"proportion": _l("andel", "proportion"),
              "rate_per_1000": _l("rate per 1 000 innbyggere", "rate per 1,000 inhabitants"),
              "mean": _l("gjennomsnitt", "mean"), "median": _l("median", "median"),
              "ratio": _l("forholdstall", "ratio")}
DIRECTION_LABEL = {"higher_is_better": _l("høyere er bedre", "higher is better"),
                   "lower_is_better": _l("lavere er bedre", "lower is better"),
                   "neither": _l("ingen ønsket retning (beskrivende)", "no desired direction (descriptive)")}
BASIS_LABEL = {"admission_date": _l("innleggelsesdato", "admission date"),
               "discharge_date": _l("utskrivningsdato", "discharge date"),
               "time_in_period": _l("tid i perioden", "time in the period"),
               "population_year": _l("befolkningsår", "population year")}
GROUPING_LABEL = {"unit_id": _l("enhet", "unit"), "municipality": _l("bostedskommune", "municipality of residence"),
                  "host_municipality": _l("vertskommune", "host municipality"),
                  "region": _l("hele området", "the whole region")}
STRATUM_LABEL = {"sex": _l("kjønn", "sex"), "age_band": _l("aldersgruppe", "age band"),
                 "care_track": _l("tilbud", "care track"), "admitted_from": _l("innlagt fra", "admitted from")}
INTERVAL_LABEL = {"wilson": _l("Wilson", "Wilson"), "clopper_pearson": _l("Clopper–Pearson (eksakt)",
                                                                          "Clopper–Pearson (exact)"),
                  "garwood": _l("Garwood (eksakt Poisson)", "Garwood (exact Poisson)"),
                  "dobson": _l("Dobson", "Dobson"), "gamma": _l("gamma (Fay–Feuer)", "gamma (Fay–Feuer)"),
                  "t": _l("t-fordelingen", "Student's t"),
                  "order_statistic": _l("fordelingsfritt (ordningsobservatorer, eksakte binomiske ranger)",
                                        "distribution-free (order statistics, exact binomial ranks)"),
                  "none": _l("ingen", "none")}

FIELD_LABELS: dict[str, dict[str, str]] = {
    "name": _l("Navn på indikator", "Indicator name"),
    "id": _l("Indikator-ID og versjon", "Indicator id and version"),
    "status": _l("Status", "Status"),
    "description": _l("Beskrivelse", "Description"),
    "rationale": _l("Formål og begrunnelse", "Purpose and rationale"),
    "type": _l("Type indikator", "Indicator type"),
    "quality_dimension": _l("Kvalitetsdimensjon", "Quality dimension"),
    "unit": _l("Måleenhet", "Unit of measure"),
    "direction": _l("Ønsket retning", "Desired direction"),
    "population": _l("Populasjon", "Population"),
    "numerator": _l("Teller", "Numerator"),
    "denominator": _l("Nevner", "Denominator"),
    "exclusions": _l("Eksklusjoner", "Exclusions"),
    "period_attribution": _l("Tidsperiode og periodetilhørighet", "Time period and attribution"),
    "data_source": _l("Datakilde", "Data source"),
    "data_requirements": _l("Datagrunnlag", "Data requirements"),
    "adjustment": _l("Justering for risikofaktorer", "Risk adjustment"),
    "groupings": _l("Rapporteringsnivå", "Reporting levels"),
    "stratifications": _l("Stratifisering", "Stratification"),
    "statistics": _l("Statistisk metode og prikking", "Statistical method and suppression"),
    "targets": _l("Målnivåer", "Target levels"),
    "interpretation": _l("Tolkning", "Interpretation"),
    "owner": _l("Eier", "Owner"),
    "review": _l("Faglig gjennomgang", "Review"),
    "references": _l("Referanser", "References"),
    "changelog": _l("Versjonshistorikk", "Version history"),
}


def _lang(lang: str) -> str:
    if lang not in ("nb", "en"):
        raise ValueError(f"lang must be 'nb' or 'en', not {lang!r}")
    return lang


def _raw(spec: IndicatorSpec | Mapping[str, Any]) -> Mapping[str, Any]:
    return spec.raw if isinstance(spec, IndicatorSpec) else spec


def _txt(obj: Any, lang: str) -> str:
    """The text in ``lang``: runs of white space made one space, paragraph breaks kept."""
    value = obj.get(lang) if isinstance(obj, Mapping) else obj
    if value is None:
        return ""
    return "\n\n".join(" ".join(p.split()) for p in re.split(r"\n\s*\n", str(value).strip()))


def _uses(items: Iterable[Mapping[str, Any]] | None) -> list[str]:
    out = []
    for u in items or ():
        s = f"{u['table']}.{u['field']}"
        if u.get("values"):
            s += " = " + " | ".join(json.dumps(v) if isinstance(v, bool) else str(v) for v in u["values"])
        out.append(s)
    return out


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _status_dates(raw: Mapping[str, Any]) -> dict[str, str]:
    """The first date each status was reached."""
    out: dict[str, str] = {}
    for h in raw.get("status_history") or ():
        out.setdefault(str(h["status"]), str(h["date"]))
    return out


# -- the national template --------------------------------------------------------------------

@attrs.frozen(kw_only=True)
class TemplateField:
    """One field of the national indicator description: a label and its content.

    Content is plain text (not yet escaped): paragraphs, then list items, then table rows
    (the first row is the header).

    .. versionadded:: 0.2.0
    """

    key: str
    label: str
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def national_fields(spec: IndicatorSpec | Mapping[str, Any], lang: str = "nb") -> tuple[TemplateField, ...]:
    """The fields of the national indicator description of one spec, in ``lang``.

    Parameters
    ----------
    spec : IndicatorSpec or mapping
        A loaded spec, or its document (``IndicatorSpec.raw``).
    lang : {"nb", "en"}

    Returns
    -------
    tuple of TemplateField
        In the order of the template; ``key`` names the field.

    Examples
    --------
    >>> from kadindicators.spec.export import national_fields
    >>> import kadindicators as kad
    >>> fields = {f.key: f for f in national_fields(kad.get_indicator("KAD-Q01"), lang="en")}
    >>> fields["numerator"].label, fields["numerator"].paragraphs[0]
    ('Numerator', 'Stays in the denominator with discharged_to = hospital.')

    .. versionadded:: 0.2.0
    """
    lang = _lang(lang)
    raw = _raw(spec)

    def t(nb: str, en: str) -> str:
        return en if lang == "en" else nb

    def lab(table: Mapping[str, Mapping[str, str]], key: Any) -> str:
        return table.get(str(key), {}).get(lang, str(key))

    def field(key: str, paragraphs: Iterable[str] = (), items: Iterable[str] = (),
              rows: Iterable[tuple[str, ...]] = ()) -> TemplateField:
        return TemplateField(key=key, label=FIELD_LABELS[key][lang],
                             paragraphs=tuple(p for p in paragraphs if p), items=tuple(items),
                             rows=tuple(rows))

    def clause(key: str) -> TemplateField:
        c = raw.get(key) or {}
        used = _uses(c.get("uses"))
        return field(key, [_txt(c.get("text"), lang)],
                     [t("Bruker: ", "Uses: ") + ", ".join(used)] if used else [])

    dates = _status_dates(raw)
    history = "; ".join(f"{lab(STATUS_LABEL, h['status'])} {h['date']}" for h in raw.get("status_history") or ())
    pa_ = raw.get("period_attribution") or {}
    basis = t("Grunnlag: ", "Basis: ") + lab(BASIS_LABEL, pa_.get("basis"))
    if pa_.get("follow_up_days"):
        basis += t(f"; oppfølgingstid {pa_['follow_up_days']} dager", f"; follow-up {pa_['follow_up_days']} days")
    dr = raw.get("data_requirements") or {}
    st = raw.get("statistics") or {}
    sup = st.get("suppression") or {}
    fun = st.get("funnel") or {}
    parts = ", ".join(t({"numerator": "teller", "denominator": "nevner", "stays": "opphold"}.get(p, p), p)
                      for p in sup.get("applies_to") or ())
    stats = [
        t("Konfidensintervall: ", "Confidence interval: ") + lab(INTERVAL_LABEL, st.get("interval"))
        + t(f", nivå {_num(st.get('confidence'))}", f", level {_num(st.get('confidence'))}"),
        t("Minste nevner: ", "Minimum denominator: ") + str(st.get("minimum_denominator")),
        t(f"Prikking: tall fra 1 til {int(sup.get('threshold', 1)) - 1} i {parts} vises ikke",
          f"Suppression: counts from 1 to {int(sup.get('threshold', 1)) - 1} in the {parts} are not shown")
        + (t(" (med komplementær prikking)", " (with complementary suppression)")
           if sup.get("complementary") else ""),
    ]
    if fun.get("limits") and fun.get("limits") != "none":
        stats.append(t("Traktdiagram: ", "Funnel plot: ") + f"{fun['limits']}, "
                     + t("nivåer ", "levels ") + ", ".join(_num(x) for x in fun.get("levels") or ()))
    if st.get("standard_population"):
        stats.append(t("Standardbefolkning: ", "Standard population: ") + str(st["standard_population"]))
    tg = raw.get("targets")
    if tg:
        cmp = "≤" if raw.get("direction") == "lower_is_better" else "≥"
        target = field("targets", [_txt(tg.get("text"), lang)],
                       rows=[(t("Nivå", "Level"), t("Verdi", "Value")),
                             (t("høy måloppnåelse", "high achievement"), f"{cmp} {_num(tg['high'])}"),
                             (t("moderat måloppnåelse", "moderate achievement"), f"{cmp} {_num(tg['moderate'])}"),
                             (t("lav måloppnåelse", "low achievement"), t("ellers", "otherwise"))])
    else:
        target = field("targets", [t("Ingen målnivåer er fastsatt.", "No target levels are set.")])
    unit = lab(UNIT_LABEL, raw.get("unit"))
    rv = raw.get("review") or {}
    refs = [r["citation"] + (f" {r['url']}" if r.get("url") else "") for r in raw.get("references") or ()]
    return (
        field("name", [_txt(raw.get("title"), lang)]),
        field("id", [t(f"{raw['id']}, versjon {raw['version']}", f"{raw['id']}, version {raw['version']}")]),
        field("status", [f"{lab(STATUS_LABEL, raw.get('status'))} ({history})" if history
                         else lab(STATUS_LABEL, raw.get("status"))]),
        field("description", [_txt(raw.get("description"), lang)]),
        field("rationale", [_txt(raw.get("rationale"), lang)]),
        field("type", [lab(TYPE_LABEL, raw.get("type"))]),
        field("quality_dimension", [lab(DIMENSION_LABEL, raw.get("quality_dimension"))]),
        field("unit", [unit]),
        field("direction", [lab(DIRECTION_LABEL, raw.get("direction"))]),
        clause("population"),
        clause("numerator"),
        clause("denominator"),
        field("exclusions",
              [] if raw.get("exclusions") else [t("Ingen.", "None.")],
              [f"{e['id']}: {_txt(e.get('text'), lang)}"
               + (t(" (bruker: ", " (uses: ") + ", ".join(_uses(e.get("uses"))) + ")" if e.get("uses") else "")
               for e in raw.get("exclusions") or ()]),
        field("period_attribution", [basis, _txt(pa_.get("text"), lang)]),
        field("data_source", [_txt(raw.get("data_source"), lang)]),
        field("data_requirements", items=[
            t("Tabeller: ", "Tables: ") + ", ".join(dr.get("tables") or ()),
            t("Felt: ", "Fields: ") + ", ".join(_uses(dr.get("fields"))),
            t("Versjoner av rapporteringsskjemaet: ", "Reporting schema versions: ")
            + str(dr.get("schema_version", "")),
        ]),
        field("adjustment", [_txt(raw.get("adjustment"), lang)]),
        field("groupings", [", ".join(lab(GROUPING_LABEL, g) for g in raw.get("groupings") or ())]),
        field("stratifications", [", ".join(lab(STRATUM_LABEL, s) for s in raw.get("stratifications") or ())
                                  or t("Ingen.", "None.")]),
        field("statistics", items=stats),
        target,
        field("interpretation", [_txt(raw.get("interpretation"), lang)]),
        field("owner", [str(raw.get("owner") or "")]),
        field("review", items=[
            t("Utarbeidet av: ", "Authored by: ") + str(rv.get("authored_by", "")),
            t("Kontrollert av: ", "Checked by: ") + str(rv.get("checked_by", "")),
            t("Sist gjennomgått: ", "Last reviewed: ") + str(rv.get("date_reviewed", "")),
            t("Neste gjennomgang: ", "Next review: ") + str(rv.get("next_review", "")),
        ] + ([t("Vedtatt: ", "Adopted: ") + dates["adopted"]] if "adopted" in dates else [])),
        field("references", [] if refs else [t("Ingen.", "None.")], refs),
        field("changelog", rows=[(t("Versjon", "Version"), t("Dato", "Date"), t("Endring", "Change"))]
              + [(str(c["version"]), str(c["date"]), _txt(c.get("change"), lang))
                 for c in raw.get("changelog") or ()]),
    )


_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]<>|#~^$])")
_MD_BLOCK = re.compile(r"^(\s*)([-+>=]|\d+[.)])")


def _md(text: str) -> str:
    """Escape text so that Markdown shows it literally (paragraph breaks kept)."""
    paras = re.split(r"\n\s*\n", text.strip())
    out = []
    for p in paras:
        p = " ".join(p.split())
        p = _MD_ESCAPE.sub(r"\\\1", p)
        out.append(_MD_BLOCK.sub(lambda m: m.group(1) + "\\" + m.group(2), p))
    return "\n\n".join(out)


def _md_link(text: str) -> str:
    """Escape text, turning bare http(s) URLs into autolinks."""
    parts = re.split(r"(https?://\S+)", text)
    return "".join(f"<{p}>" if i % 2 else _md(p) if p.strip() else p for i, p in enumerate(parts))


def _specs(specs: IndicatorSpec | Mapping[str, Any] | Sequence[IndicatorSpec | Mapping[str, Any]],
           ) -> list[Mapping[str, Any]]:
    if isinstance(specs, IndicatorSpec | Mapping):
        return [_raw(specs)]
    return [_raw(s) for s in specs]


def _heading(lang: str) -> tuple[str, str]:
    if lang == "en":
        return ("Quality indicators for municipal acute inpatient beds (KAD): indicator descriptions",
                ("Generated from the indicator specifications of the kadindicators standard "
                 "(spec/indicators). The specification files are normative."))
    return ("Kvalitetsindikatorer for kommunale akutte døgnplasser (KAD): indikatorbeskrivelser",
            ("Laget fra indikatorspesifikasjonene i kadindicators-standarden (spec/indicators). "
             "Spesifikasjonsfilene er normative."))


def national_markdown(specs: IndicatorSpec | Mapping[str, Any] | Sequence[IndicatorSpec | Mapping[str, Any]],
                      lang: str = "nb") -> str:
    """The national indicator description of one or more specs as a Markdown document.

    Every field is a ``###`` section under a ``##`` heading per indicator; texts are escaped so
    that Markdown shows them literally.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.spec.export import national_markdown
    >>> md = national_markdown([kad.get_indicator("KAD-Q01")], lang="en")
    >>> "### Numerator" in md and "## KAD-Q01: Share of completed stays" in md
    True

    .. versionadded:: 0.2.0
    """
    lang = _lang(lang)
    title, intro = _heading(lang)
    out = [f"# {_md(title)}", "", _md(intro), ""]
    for raw in _specs(specs):
        out += [f"## {raw['id']}: {_md(_txt(raw.get('title'), lang))}", ""]
        for f in national_fields(raw, lang):
            out += [f"### {_md(f.label)}", ""]
            for p in f.paragraphs:
                out += [_md(p), ""]
            for it in f.items:
                out.append(f"- {_md_link(it)}")
            if f.items:
                out.append("")
            if f.rows:
                head, *body = f.rows
                out.append("| " + " | ".join(_md(c) for c in head) + " |")
                out.append("|" + "---|" * len(head))
                out += ["| " + " | ".join(_md(c) for c in r) + " |" for r in body]
                out.append("")
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#1b1b1b}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2.5rem;border-bottom:2px solid #1b4f72}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #bbb;padding:.4rem .6rem;text-align:left;vertical-align:top}
table.template>tbody>tr>th{width:14rem;background:#eef3f7}
td p{margin:0 0 .5rem}td p:last-child{margin-bottom:0}td ul{margin:0;padding-left:1.2rem}
nav ul{columns:2}@media print{nav{display:none}h2{page-break-before:always}}
""".strip()


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _h_link(text: str) -> str:
    parts = re.split(r"(https?://[^\s<>\"']+)", text)
    return "".join(f'<a href="{_h(p)}">{_h(p)}</a>' if i % 2 else _h(p) for i, p in enumerate(parts))


def national_html(specs: IndicatorSpec | Mapping[str, Any] | Sequence[IndicatorSpec | Mapping[str, Any]],
                  lang: str = "nb") -> str:
    """The national indicator description of one or more specs as one self-contained HTML page.

    One ``<section id="<id>">`` per indicator holds a two-column table, one row per field
    (``<tr data-field="<key>">``); texts are HTML-escaped, only ``http(s)`` URLs become links.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.spec.export import national_html
    >>> page = national_html([kad.get_indicator("KAD-Q01")])
    >>> page.startswith("<!DOCTYPE html>") and '<th scope="row">Teller</th>' in page
    True

    .. versionadded:: 0.2.0
    """
    lang = _lang(lang)
    raws = _specs(specs)
    title, intro = _heading(lang)
    out = ["<!DOCTYPE html>", f'<html lang="{lang}">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_h(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<header><h1>{_h(title)}</h1><p>{_h(intro)}</p></header>"]
    if len(raws) > 1:
        out.append("<nav><ul>")
        out += [f'<li><a href="#{_h(r["id"].lower())}">{_h(r["id"])}: {_h(_txt(r.get("title"), lang))}</a></li>'
                for r in raws]
        out.append("</ul></nav>")
    for raw in raws:
        out.append(f'<section id="{_h(raw["id"].lower())}" class="indicator">')
        out.append(f"<h2>{_h(raw['id'])}: {_h(_txt(raw.get('title'), lang))}</h2>")
        out.append('<table class="template"><tbody>')
        for f in national_fields(raw, lang):
            cell = [f"<p>{_h(p)}</p>" for p in f.paragraphs]
            if f.items:
                cell.append("<ul>" + "".join(f"<li>{_h_link(i)}</li>" for i in f.items) + "</ul>")
            if f.rows:
                head, *body = f.rows
                cell.append("<table><thead><tr>" + "".join(f"<th>{_h(c)}</th>" for c in head)
                            + "</tr></thead><tbody>"
                            + "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in r) + "</tr>" for r in body)
                            + "</tbody></table>")
            out.append(f'<tr data-field="{_h(f.key)}"><th scope="row">{_h(f.label)}</th><td>{"".join(cell)}</td></tr>')
        out.append("</tbody></table>")
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


# -- FHIR Measure -----------------------------------------------------------------------------

def _translation(raw_text: Any, lang: str) -> dict[str, Any] | None:
    """The core ``translation`` extension holding the other language's text."""
    other = "en" if lang == "nb" else "nb"
    text = _txt(raw_text, other) if isinstance(raw_text, Mapping) else ""
    if not text:
        return None
    return {"extension": [{"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": other},
                                                             {"url": "content", "valueString": text}]}]}


def _criteria(raw: Mapping[str, Any], pointer: str, description: str) -> dict[str, Any]:
    return {"description": description, "language": EXPRESSION_LANGUAGE,
            "expression": f"{raw['id']}|{raw['version']}#{pointer}"}


def _clause_text(clause: Mapping[str, Any], lang: str) -> str:
    text = _txt(clause.get("text"), lang)
    used = _uses(clause.get("uses"))
    if used:
        text += (" [uses: " if lang == "en" else " [bruker: ") + "; ".join(used) + "]"
    return text


def measure(spec: IndicatorSpec | Mapping[str, Any], *, lang: str = "nb",
            base_url: str = FHIR_BASE_URL) -> dict[str, Any]:
    """A FHIR R4 ``Measure`` resource for one indicator spec, as JSON data.

    Parameters
    ----------
    spec : IndicatorSpec or mapping
        A loaded spec, or its document.
    lang : {"nb", "en"}
        The language of the texts; the other language is attached as ``translation``
        extensions.
    base_url : str
        Base of the canonical URL: ``<base_url>/Measure/<id>``.

    Returns
    -------
    dict
        ``json.dumps`` gives the resource.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.spec.export import measure
    >>> m = measure(kad.get_indicator("KAD-Q01"), lang="en")
    >>> m["url"], m["version"], m["status"], m["scoring"]["coding"][0]["code"]
    ('https://kadindicators.example/fhir/Measure/KAD-Q01', '1.0.0', 'active', 'proportion')
    >>> [p["code"]["coding"][0]["code"] for p in m["group"][0]["population"]]
    ['initial-population', 'denominator', 'denominator-exclusion', 'numerator']

    .. versionadded:: 0.2.0
    """
    lang = _lang(lang)
    raw = _raw(spec)
    base = base_url.rstrip("/")
    sid, unit = str(raw["id"]), str(raw["unit"])
    codes = population_codes(unit)
    out: dict[str, Any] = {"resourceType": "Measure", "id": sid, "language": lang,
                           "url": f"{base}/Measure/{sid}",
                           "identifier": [{"use": "official", "system": f"{base}/NamingSystem/indicator-id",
                                           "value": sid}],
                           "version": str(raw["version"]), "name": sid.replace("-", "_")}

    def text(key: str, value: Any) -> None:
        s = _txt(value, lang)
        if s:
            out[key] = s
            tr = _translation(value, lang)
            if tr:
                out["_" + key] = tr

    text("title", raw.get("title"))
    out["status"] = STATUS[str(raw["status"])]
    dates = [str(h["date"]) for h in raw.get("status_history") or ()] + \
            [str(c["date"]) for c in raw.get("changelog") or ()]
    if dates:
        out["date"] = max(dates)
    if raw.get("owner"):
        out["publisher"] = str(raw["owner"])
    text("description", raw.get("description"))
    out["jurisdiction"] = [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "NO"}]}]
    text("purpose", raw.get("rationale"))
    status_dates = _status_dates(raw)
    if "adopted" in status_dates:
        out["approvalDate"] = status_dates["adopted"]
    rv = raw.get("review") or {}
    if rv.get("date_reviewed"):
        out["lastReviewDate"] = str(rv["date_reviewed"])
    if "adopted" in status_dates:
        period = {"start": status_dates["adopted"]}
        if "retired" in status_dates:
            period["end"] = status_dates["retired"]
        out["effectivePeriod"] = period
    if raw.get("quality_dimension"):
        qd = str(raw["quality_dimension"])
        out["topic"] = [{"coding": [{"system": code_system(base, "quality-dimension"), "code": qd,
                                     "display": DIMENSION_LABEL.get(qd, {}).get(lang, qd)}]}]
    if rv.get("authored_by"):
        out["author"] = [{"name": str(rv["authored_by"])}]
    if rv.get("checked_by"):
        out["reviewer"] = [{"name": str(rv["checked_by"])}]
    refs = [{"type": "citation", "citation": str(r["citation"]), **({"url": str(r["url"])} if r.get("url") else {})}
            for r in raw.get("references") or ()]
    if refs:
        out["relatedArtifact"] = refs
    out["scoring"] = {"coding": [{"system": MEASURE_SCORING, "code": SCORING[unit]}],
                      "text": UNIT_LABEL[unit][lang]}
    itype = str(raw.get("type"))
    type_codings = ([{"system": MEASURE_TYPE, "code": HL7_TYPE[itype]}] if itype in HL7_TYPE else []) + \
        [{"system": code_system(base, "indicator-type"), "code": itype,
          "display": TYPE_LABEL.get(itype, {}).get(lang, itype)}]
    out["type"] = [{"coding": type_codings}]
    adj = _txt(raw.get("adjustment"), lang)
    if adj:
        out["riskAdjustment"] = adj
    text("rationale", raw.get("rationale"))
    text("clinicalRecommendationStatement", raw.get("interpretation"))
    direction = str(raw.get("direction"))
    if direction in IMPROVEMENT_NOTATION:
        out["improvementNotation"] = {"coding": [{"system": IMPROVEMENT, "code": IMPROVEMENT_NOTATION[direction]}]}
    fields = {f.key: f for f in national_fields(raw, lang)}
    guidance = []
    for key in ("period_attribution", "data_source", "data_requirements", "statistics", "targets", "groupings"):
        f = fields[key]
        body = [*f.paragraphs, *(f"- {i}" for i in f.items),
                *(" | ".join(r) for r in f.rows[1:])]
        guidance.append(f"**{f.label}.** " + "\n".join(body))
    out["guidance"] = "\n\n".join(guidance)

    def population(key: str, pointer: str, description: str) -> dict[str, Any]:
        return {"code": {"coding": [{"system": MEASURE_POPULATION, "code": codes[key]}]},
                "description": description, "criteria": _criteria(raw, pointer, description)}

    pops = [population(k, f"/{k}", _clause_text(raw[k], lang))
            for k in ("population", "denominator") if raw.get(k)]
    if raw.get("exclusions"):
        desc = " ".join(f"({i + 1}) {e['id']}: {_clause_text(e, lang)}" for i, e in enumerate(raw["exclusions"]))
        pops.append(population("exclusions", "/exclusions", desc))
    if raw.get("numerator"):
        pops.append(population("numerator", "/numerator", _clause_text(raw["numerator"], lang)))
    group: dict[str, Any] = {"code": {"coding": [{"system": code_system(base, "indicator"), "code": sid}]},
                             "description": _txt(raw.get("title"), lang), "population": pops}
    if SCORING[unit] == "continuous-variable":
        group["extension"] = [{"url": f"{base}/StructureDefinition/aggregate-method", "valueCode": unit}]
    strata = []
    for s in raw.get("stratifications") or ():
        label = STRATUM_LABEL.get(str(s), {}).get(lang, str(s))
        strata.append({"code": {"coding": [{"system": code_system(base, "stratifier"), "code": str(s)}],
                                "text": label},
                       "description": label,
                       "criteria": {"description": label, "language": EXPRESSION_LANGUAGE,
                                    "expression": f"{sid}|{raw['version']}#/stratifications/"
                                                  f"{list(raw['stratifications']).index(s)}"}})
    if strata:
        group["stratifier"] = strata
    out["group"] = [group]
    return out


def measure_bundle(specs: Sequence[IndicatorSpec | Mapping[str, Any]], *, lang: str = "nb",
                   base_url: str = FHIR_BASE_URL) -> dict[str, Any]:
    """A FHIR R4 ``Bundle`` of type ``collection`` holding one ``Measure`` per spec.

    Examples
    --------
    >>> import kadindicators as kad
    >>> from kadindicators.spec.export import measure_bundle
    >>> b = measure_bundle(kad.catalogue(status="adopted"))
    >>> b["type"], len(b["entry"]) == len(kad.catalogue(status="adopted"))
    ('collection', True)

    .. versionadded:: 0.2.0
    """
    entries = []
    for s in specs:
        m = measure(s, lang=lang, base_url=base_url)
        entries.append({"fullUrl": m["url"], "resource": m})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def load_specs(ids: Sequence[str], root: Path | None = None) -> list[IndicatorSpec]:
    """The specs with ``ids`` (``["all"]`` or empty: every spec), from ``root`` (default ``spec/``)."""
    specs = _load_all((root or spec_root()).resolve())
    if not ids or list(ids) == ["all"]:
        return list(specs.values())
    unknown = [i for i in ids if i not in specs]
    if unknown:
        known = ", ".join(specs)
        raise SpecError(f"unknown indicator id(s): {', '.join(unknown)}",
                        f"ukjent indikator-id: {', '.join(unknown)}",
                        hint_en=f"known: {known}", hint_nb=f"kjente: {known}")
    return [specs[i] for i in dict.fromkeys(ids)]


def export(ids: Sequence[str], fmt: str, *, lang: str = "nb", root: Path | None = None,
           base_url: str = FHIR_BASE_URL) -> str:
    """Export the specs with ``ids`` in format ``fmt`` (one of :data:`FORMATS`); return the text.

    ``fhir-measure`` gives one ``Measure`` for one id and a ``collection`` Bundle for several.

    Examples
    --------
    >>> from kadindicators.spec.export import export
    >>> import json
    >>> json.loads(export(["KAD-Q01"], "fhir-measure"))["resourceType"]
    'Measure'

    .. versionadded:: 0.2.0
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {fmt!r}")
    specs = load_specs(ids, root)
    if fmt == "national-md":
        return national_markdown(specs, lang)
    if fmt == "national-html":
        return national_html(specs, lang)
    data = (measure(specs[0], lang=lang, base_url=base_url) if len(specs) == 1
            else measure_bundle(specs, lang=lang, base_url=base_url))
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
