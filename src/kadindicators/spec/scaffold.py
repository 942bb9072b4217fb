"""``spec new``: scaffold a draft indicator spec and a conformance case template.

:func:`new_indicator` writes ``<root>/indicators/<ID>.yaml`` (status ``draft``, version
``0.1.0``) and ``<root>/conformance/<ID>/basic.yaml``. Every text the author still has to
write starts with the marker ``TODO``; :func:`todo_markers` finds them, so that ``spec lint``
can report them (a warning for a draft, an error for a proposed or adopted spec). The spec
passes ``spec lint`` as a draft as it is: its fields are valid and every field it names exists
in the reporting schema.

The statistical policy is a starting point by unit, like the catalogue's own indicators:
Wilson intervals and exact binomial funnel limits for a proportion, Garwood intervals and exact
Poisson limits for a rate, a t interval for a mean, none for a median or a ratio.

Nothing is overwritten, the id must match the id pattern of ``spec/indicator.schema.json``
and must not be in ``spec.lock`` (ids are never reused), and both files are written inside
the chosen spec root.

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import _yaml
from ..errors import SpecError
from .indicators import format_schema, schema_errors
from .loader import load_schema

__all__ = ["TODO", "Scaffold", "new_indicator", "render_case", "render_spec", "todo_markers"]

#: The marker of a text still to be written.
TODO = "TODO"
_TODO_RE = re.compile(r"\bTODO\b")
CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Starting points of the statistical policy, by unit (as in the catalogue's specs).
_STATS: dict[str, dict[str, Any]] = {
    "proportion": {"interval": "wilson", "applies_to": ["numerator", "denominator"],
                   "funnel": "{levels: [0.95, 0.998], limits: exact_binomial, overdispersion: optional}"},
    "rate_per_1000": {"interval": "garwood", "applies_to": ["numerator"], "multiplier": 1000,
                      "funnel": "{levels: [0.95, 0.998], limits: exact_poisson, overdispersion: optional}"},
    "mean": {"interval": "t", "applies_to": ["denominator"], "multiplier": 1,
             "funnel": "{levels: [0.95, 0.998], limits: normal, overdispersion: optional}"},
    "median": {"interval": "none", "applies_to": ["denominator"], "multiplier": 1,
               "funnel": "{levels: [], limits: none}"},
    "ratio": {"interval": "none", "applies_to": ["denominator"], "multiplier": 1,
              "funnel": "{levels: [], limits: none}"},
}


@attrs.frozen(kw_only=True)
class Scaffold:
    """The files written by :func:`new_indicator`.

    .. versionadded:: 0.2.0
    """

    spec_path: Path
    case_path: Path


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _check_title(value: str, which: str) -> str:
    text = " ".join(str(value).split())
    if not text or len(text) > 200 or any(ord(c) < 32 for c in str(value).replace("\n", " ")):
        raise ValueError(f"{which} must be one line of 1 to 200 characters")
    return text


def _check_id(indicator_id: str) -> str:
    pattern = str(format_schema()["properties"]["id"]["pattern"])
    if not isinstance(indicator_id, str) or not re.fullmatch(pattern, indicator_id):
        raise ValueError(f"indicator id {indicator_id!r} does not match {pattern} (e.g. KAD-Q09)")
    return indicator_id


def render_spec(indicator_id: str, *, title_nb: str, title_en: str, unit: str = "proportion",
                indicator_type: str = "process", today: dt.date | None = None) -> str:
    """The YAML text of a draft spec with ``TODO`` markers (see :func:`new_indicator`).

    Examples
    --------
    >>> from kadindicators import _yaml
    >>> from kadindicators.spec.indicators import schema_errors
    >>> text = render_spec("KAD-Q99", title_nb="Andel X", title_en="Share of X")
    >>> raw = _yaml.loads(text)
    >>> raw["status"], raw["version"], schema_errors(raw)
    ('draft', '0.1.0', [])

    .. versionadded:: 0.2.0
    """
    _check_id(indicator_id)
    props = format_schema()["properties"]
    if unit not in props["unit"]["enum"]:
        raise ValueError(f"unit must be one of {props['unit']['enum']}, not {unit!r}")
    if indicator_type not in props["type"]["enum"]:
        raise ValueError(f"type must be one of {props['type']['enum']}, not {indicator_type!r}")
    title_nb, title_en = _check_title(title_nb, "title_nb"), _check_title(title_en, "title_en")
    today = today or dt.date.today()
    next_year = today.replace(year=today.year + 1) if not (today.month == 2 and today.day == 29) \
        else today.replace(year=today.year + 1, day=28)
    major = load_schema().version.split(".")[0]
    st = _STATS[unit]
    rate = unit == "rate_per_1000"
    groupings = "[municipality, region]" if rate else "[unit_id, municipality, host_municipality, region]"
    tables = "[stays, population]" if rate else "[stays]"
    pop_fields = ("\n    - {table: population, field: municipality}\n    - {table: population, field: year}"
                  "\n    - {table: population, field: population}") if rate else ""
    multiplier = f"\n  multiplier: {st['multiplier']}" if "multiplier" in st else ""

    def todo(nb: str, en: str, indent: int = 2) -> str:
        pad = " " * indent
        return f"{pad}nb: {_q(f'{TODO}: {nb}')}\n{pad}en: {_q(f'{TODO}: {en}')}"

    return f"""\
# {indicator_id} {title_en}. Format: ../indicator.schema.json
# A draft made by `kadindicators spec new`. Replace every text that starts with {TODO}
# (spec lint warns about them in a draft and fails on them once the spec is proposed),
# fill in the `uses` lists, and check every value against the proposal guide.
id: {indicator_id}
version: 0.1.0
status: draft
status_history:
  - {{status: draft, date: {today.isoformat()}}}
title:
  nb: {_q(title_nb)}
  en: {_q(title_en)}
description:
{todo("hva indikatoren måler, i én eller to setninger.", "what the indicator measures, in one or two sentences.")}
rationale:
{todo("hvorfor indikatoren er viktig for pasientene, med referanser.",
      "why the indicator matters for patients, with references.")}
interpretation:
{todo("hvordan høye og lave verdier leses, og hva indikatoren ikke viser.",
      "how high and low values are read, and what the indicator does not show.")}
type: {indicator_type}
quality_dimension: effective  # effective | safe | user_involving | coordinated | efficient | accessible_equitable
unit: {unit}
direction: neither  # higher_is_better | lower_is_better | neither
population:
  text:
{todo("hvilke opphold (eller innbyggere) indikatoren gjelder.",
      "which stays (or inhabitants) the indicator is about.", 4)}
  uses:
    - {{table: stays, field: admitted_at}}
denominator:
  text:
{todo("hva som telles i nevneren, og hvordan manglende verdier behandles.",
      "what the denominator counts, and how missing values are treated.", 4)}
  uses: []  # the schema fields (and code values) the denominator depends on
numerator:
  text:
{todo("hva som telles i telleren (en del av nevneren).",
      "what the numerator counts (a part of the denominator).", 4)}
  uses: []  # e.g. - {{table: stays, field: discharged_to, values: [hospital]}}
exclusions: []  # each: {{id: kebab-case, text: {{nb: ..., en: ...}}, uses: [...]}}
period_attribution:
  basis: admission_date  # admission_date | discharge_date | time_in_period | population_year
  text:
{todo("hvilken periode et opphold telles i (lokal tid Europe/Oslo, halvåpne perioder), "
      "også over midnatt, periodegrenser og sommertid.",
      "which period a stay counts in (local time Europe/Oslo, half-open periods), including "
      "across midnight, period boundaries and daylight saving time.", 4)}
groupings: {groupings}
stratifications: []  # sex | age_band | care_track | admitted_from
statistics:
  interval: {st['interval']}
  confidence: 0.95
  minimum_denominator: 5
  suppression: {{threshold: 5, applies_to: [{", ".join(st["applies_to"])}], complementary: false}}
  funnel: {st['funnel']}
  standard_population: null{multiplier}
targets: null
data_requirements:
  tables: {tables}
  fields:
    - {{table: stays, field: admitted_at}}{pop_fields}
  schema_version: ">={major}.0.0,<{int(major) + 1}.0.0"
data_source:
  nb: Oppholdsdata fra kommunens journalsystem, validert mot rapporteringsskjemaet.
  en: Stay-level data from the municipality's record system, validated against the reporting schema.
adjustment:
{todo("justering for pasientsammensetning, eller «Ingen (ujustert)».",
      "adjustment for case mix, or 'None (crude)'.")}
owner: {_q(f"{TODO}: the committee or organisation that owns the indicator")}
references: []  # each: {{citation: "...", url: "https://..."}}
review:
  authored_by: {_q(f"{TODO}: author")}
  checked_by: {_q(f"{TODO}: clinical and data reviewers")}
  date_reviewed: {today.isoformat()}
  next_review: {next_year.isoformat()}
changelog:
  - version: 0.1.0
    date: {today.isoformat()}
    change: {{nb: Første utkast., en: First draft.}}
"""


def render_case(indicator_id: str, *, unit: str = "proportion", case: str = "basic") -> str:
    """The YAML text of a conformance case template for ``indicator_id``.

    The input rows are valid synthetic stays; ``expected.rows`` is empty until the author
    works the result out by hand, so the case fails against any implementation until then.

    Examples
    --------
    >>> from kadindicators import _yaml
    >>> raw = _yaml.loads(render_case("KAD-Q99"))
    >>> raw["indicator"], raw["case"], raw["expected"]["rows"]
    ('KAD-Q99', 'basic', [])

    .. versionadded:: 0.2.0
    """
    _check_id(indicator_id)
    if not CASE_NAME.fullmatch(case):
        raise ValueError(f"case name {case!r} must be kebab-case (a-z, 0-9, -)")
    rate = unit == "rate_per_1000"
    by = "[municipality]" if rate else "[unit_id]"
    example_group = '"3301"' if rate else "U1"
    muni = ", municipality: \"3301\"" if rate else ""
    population = """
  population:
    - {municipality: "3301", year: 2024, sex: "1", age_band: 67-79, population: 1000}
    - {municipality: "3301", year: 2024, sex: "2", age_band: 67-79, population: 1100}""" if rate else ""
    return f"""\
# A conformance case template for {indicator_id} (format: ../README.md), made by `kadindicators spec new`.
# Work the expected result out by hand from the spec's text, then write it under expected.rows;
# until then the case fails against any implementation. Add one case per rule that could be
# misread: each exclusion, period boundaries (midnight, new year, summer time), open stays,
# suppression, each stratification.
indicator: {indicator_id}
case: {case}
spec_ref: numerator
since_version: 0.1.0
tags: [basic]
description:
  nb: {_q(f"{TODO}: hva saken viser, regnet ut for hånd.")}
  en: {_q(f"{TODO}: what the case shows, worked out by hand.")}
parameters: {{by: {by}, period: year, strata: [], as_of: "2025-01-01T00:00", suppression: 1}}
input:
  stays:
    - {{stay_id: S1, patient_id: P1, unit_id: U1{muni}, admitted_at: "2024-03-01T10:00", discharged_at: "2024-03-03T10:00", age: 80, sex: "2", care_track: somatic, discharged_to: home}}
    - {{stay_id: S2, patient_id: P2, unit_id: U1{muni}, admitted_at: "2024-04-01T10:00", discharged_at: "2024-04-02T09:00", age: 72, sex: "1", care_track: somatic, discharged_to: hospital}}
    - {{stay_id: S3, patient_id: P3, unit_id: U1{muni}, admitted_at: "2024-12-31T22:00", age: 91, sex: "2", care_track: somatic}}{population}
expected:
  # One row per result row, e.g.
  # - {{period: "2024", {by[1:-1]}: {example_group}, numerator: 1, denominator: 2, value: 0.5, suppressed: false, reason: null}}
  rows: []
"""


def _inside(root: Path, path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise SpecError(f"{path} is outside the spec root {root}", f"{path} er utenfor spesifikasjonsmappen {root}")
    return resolved


def new_indicator(indicator_id: str, *, title_nb: str, title_en: str, unit: str = "proportion",
                  indicator_type: str = "process", root: Path, case: str = "basic",
                  today: dt.date | None = None) -> Scaffold:
    """Write a draft spec and a conformance case template for a new indicator.

    Parameters
    ----------
    indicator_id : str
        A new id matching the format's pattern, e.g. ``KAD-Q09``.
    title_nb, title_en : str
        The title in Norwegian bokmål and English (one line each).
    unit : str
        ``proportion``, ``rate_per_1000``, ``mean``, ``median`` or ``ratio``.
    indicator_type : str
        ``structure``, ``process``, ``outcome``, ``patient-reported``, ``utilisation`` or ``equity``.
    root : Path
        The spec root (the folder holding ``indicator.schema.json``); files are written in its
        ``indicators/`` and ``conformance/<ID>/``.
    case : str
        The name of the case template.
    today : datetime.date, optional
        The date of the status history, review and changelog; default today.

    Returns
    -------
    Scaffold
        The paths written.

    Raises
    ------
    ValueError
        A malformed id, title, unit or type.
    SpecError
        The root is not a spec root, or the id or a file already exists.

    Examples
    --------
    >>> import tempfile, shutil
    >>> from pathlib import Path
    >>> from kadindicators.spec.scaffold import new_indicator
    >>> root = Path(tempfile.mkdtemp()) / "spec"
    >>> root.mkdir(); (root / "indicator.schema.json").write_text("{}", encoding="utf-8")
    2
    >>> made = new_indicator("KAD-Q99", title_nb="Andel X", title_en="Share of X", root=root)
    >>> made.spec_path.name, made.case_path.parent.name
    ('KAD-Q99.yaml', 'KAD-Q99')
    >>> shutil.rmtree(root.parent)

    .. versionadded:: 0.2.0
    """
    from .lint import read_lock  # lint imports this module (todo_markers)

    _check_id(indicator_id)
    root = Path(root)
    if not (root / "indicator.schema.json").is_file():
        raise SpecError(f"{root} is not a spec root (it has no indicator.schema.json)",
                        f"{root} er ikke en spesifikasjonsmappe (den mangler indicator.schema.json)",
                        hint_en="pass --spec-root with the path of spec/",
                        hint_nb="oppgi --spec-root med stien til spec/")
    spec_text = render_spec(indicator_id, title_nb=title_nb, title_en=title_en, unit=unit,
                            indicator_type=indicator_type, today=today)
    case_text = render_case(indicator_id, unit=unit, case=case)
    errors = schema_errors(_yaml.loads(spec_text))
    if errors:  # pragma: no cover - the template is tested to be valid
        raise SpecError(f"internal: the template is not valid: {errors[0]}")
    if indicator_id in read_lock(root):
        raise SpecError(f"{indicator_id} was released before (spec.lock); ids are never reused",
                        f"{indicator_id} er utgitt før (spec.lock); id-er brukes aldri på nytt",
                        hint_en="choose a new id", hint_nb="velg en ny id")
    spec_path = _inside(root, root / "indicators" / f"{indicator_id}.yaml")
    case_dir = _inside(root, root / "conformance" / indicator_id)
    case_path = _inside(root, case_dir / f"{case}.yaml")
    for p in (spec_path, case_path):
        if p.exists():
            raise SpecError(f"{p} exists already; nothing was written",
                            f"{p} finnes allerede; ingenting ble skrevet",
                            hint_en="choose a new id, or edit the existing file",
                            hint_nb="velg en ny id, eller rediger filen som finnes")
    if case_dir.is_dir() and any(case_dir.iterdir()):
        raise SpecError(f"{case_dir} has conformance cases already; nothing was written",
                        f"{case_dir} har konformitetstester allerede; ingenting ble skrevet")
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    with spec_path.open("x", encoding="utf-8") as fh:  # "x": never overwrite, even in a race
        fh.write(spec_text)
    case_dir.mkdir(parents=True, exist_ok=True)
    try:
        with case_path.open("x", encoding="utf-8") as fh:
            fh.write(case_text)
    except OSError:
        spec_path.unlink()
        raise
    return Scaffold(spec_path=spec_path, case_path=case_path)


def _walk(obj: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, str(i)))
    elif isinstance(obj, str):
        yield path, obj


def todo_markers(raw: Any, lines: Mapping[tuple[str, ...], int] | None = None,
                 ) -> list[tuple[str, int | None]]:
    """Texts that still carry the ``TODO`` marker: ``(dotted path, line)`` pairs.

    ``lines`` is the key-path → line map of :func:`kadindicators._yaml.load_with_lines`.

    Examples
    --------
    >>> todo_markers({"title": {"nb": "Andel", "en": "TODO: share"}, "owner": "X"})
    [('title.en', None)]

    .. versionadded:: 0.2.0
    """
    out = []
    for path, text in _walk(raw, ()):
        if _TODO_RE.search(text):
            line = None
            if lines is not None:
                key = path
                while key and key not in lines:
                    key = key[:-1]
                line = lines.get(key)
            out.append((".".join(path), line))
    return out
