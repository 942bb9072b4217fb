"""``spec lint``: machine checks of indicator specifications, with located messages.

Checks, for every ``spec/indicators/*.yaml`` (or the paths given):

- the file is valid against ``spec/indicator.schema.json``;
- the id is unique and matches the file name; the changelog names the version;
  the status history ends with the current status;
- every referenced field and code value exists in the reporting schema, whose
  version is inside the spec's ``schema_version`` range;
- an ``adopted`` spec has a registered implementation of the same version and
  conformance cases that pass, exercising every exclusion and stratification;
- a change of the definition (numerator, denominator, exclusions, period
  attribution, unit) comes with a major version bump against ``spec/spec.lock``;
- every conformance case's ``spec_ref`` names a clause of its spec;
- no text of a spec or of its conformance cases still carries the ``TODO`` marker
  of ``spec new`` (a warning for a draft, an error once proposed or adopted).

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from .. import _yaml
from .._resources import spec_root
from ..errors import SpecError
from .indicators import IndicatorSpec, _build, jsonable, schema_errors
from .loader import load_schema
from .scaffold import todo_markers

LOCK_NAME = "spec.lock"


@attrs.frozen(kw_only=True)
class LintIssue:
    """One problem found by lint, located by file and line."""

    file: str
    line: int | None
    rule: str
    message_en: str
    message_nb: str
    hint_en: str = ""
    hint_nb: str = ""
    severity: str = "error"  # error | warning (a warning does not fail lint)

    def format(self, lang: str = "en") -> str:
        """``file:line: rule: message (hint)`` in ``lang``; warnings are marked."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        msg = self.message_en if lang == "en" else self.message_nb
        hint = self.hint_en if lang == "en" else self.hint_nb
        sev = "" if self.severity == "error" else (" (warning)" if lang == "en" else " (advarsel)")
        return f"{where}: {self.rule}{sev}: {msg}" + (f" — {hint}" if hint else "")


def resolve_ref(raw: Any, ref: str) -> bool:
    """Whether a case's ``spec_ref`` (a dotted path; list items by their ``id``) names a clause.

    Examples
    --------
    >>> spec = {"numerator": {"text": "x"}, "exclusions": [{"id": "not-completed"}]}
    >>> resolve_ref(spec, "exclusions.not-completed"), resolve_ref(spec, "exclusions.under-18")
    (True, False)
    """
    node = raw
    for part in str(ref).split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list):
            found = [x for x in node if isinstance(x, Mapping) and str(x.get("id")) == part]
            if not found:
                return False
            node = found[0]
        else:
            return False
    return True


def _line(lines: Mapping[tuple[str, ...], int], path: Sequence[Any]) -> int | None:
    key = tuple(str(p) for p in path)
    while key and key not in lines:
        key = key[:-1]
    return lines.get(key)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def _in_range(version: str, spec_range: str) -> bool:
    v = _version_tuple(version)
    for part in (p.strip() for p in spec_range.split(",") if p.strip()):
        for op in (">=", "<=", "==", ">", "<"):
            if part.startswith(op):
                other = _version_tuple(part[len(op):].strip())
                ok = {">=": v >= other, "<=": v <= other, "==": v == other,
                      ">": v > other, "<": v < other}[op]
                if not ok:
                    return False
                break
        else:
            return False
    return True


def read_lock(root: Path | None = None) -> dict[str, dict[str, str]]:
    """The released versions and definition hashes in ``spec/spec.lock``."""
    path = (root or spec_root()) / LOCK_NAME
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("indicators", {}))


def write_lock(specs: Iterable[IndicatorSpec], root: Path | None = None) -> Path:
    """Record the version and definition hash of every spec in ``spec/spec.lock``."""
    path = (root or spec_root()) / LOCK_NAME
    data = {"format": 1, "indicators": {s.id: {"version": s.version, "definition_hash": s.definition_hash,
                                               "content_hash": s.content_hash}
                                        for s in sorted(specs, key=lambda s: s.id)}}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


class _Linter:
    def __init__(self) -> None:
        self.issues: list[LintIssue] = []

    def add(self, file: Path, line: int | None, rule: str, en: str, nb: str, hint_en: str = "",
            hint_nb: str = "", severity: str = "error") -> None:
        self.issues.append(LintIssue(file=str(file), line=line, rule=rule, message_en=en, message_nb=nb,
                                     hint_en=hint_en, hint_nb=hint_nb or hint_en, severity=severity))

    def todo(self, file: Path, raw: Any, lines: Mapping[tuple[str, ...], int], status: str) -> None:
        """TODO texts: a warning in a draft, an error once proposed or adopted."""
        for where, line in todo_markers(raw, lines):
            self.add(file, line, "todo", f"{where} still holds a TODO text",
                     f"{where} har fortsatt en TODO-tekst",
                     "write the text before the spec is proposed", "skriv teksten før spesifikasjonen foreslås",
                     severity="warning" if status == "draft" else "error")


def _check_refs(lint: _Linter, path: Path, raw: Mapping[str, Any],
                lines: Mapping[tuple[str, ...], int]) -> None:
    schema = load_schema()

    def refs() -> Iterable[tuple[tuple[Any, ...], Mapping[str, Any]]]:
        for clause in ("population", "numerator", "denominator"):
            for i, r in enumerate(raw.get(clause, {}).get("uses", []) or []):
                yield (clause, "uses", i), r
        for j, e in enumerate(raw.get("exclusions", []) or []):
            for i, r in enumerate(e.get("uses", []) or []):
                yield ("exclusions", j, "uses", i), r
        for i, r in enumerate(raw.get("data_requirements", {}).get("fields", []) or []):
            yield ("data_requirements", "fields", i), r

    for where, ref in refs():
        table, field = ref.get("table"), ref.get("field")
        line = _line(lines, where)
        tspec = schema.tables.get(str(table))
        if tspec is None or field not in tspec.field_names:
            names = ", ".join(tspec.field_names) if tspec else ", ".join(schema.tables)
            lint.add(path, line, "unknown-field",
                     f"{table}.{field} is not a field of reporting schema {schema.version}",
                     f"{table}.{field} er ikke et felt i rapporteringsskjema {schema.version}",
                     f"known: {names}", f"kjente: {names}")
            continue
        f = tspec.field(field)
        for value in ref.get("values", []) or []:
            if f.type == "boolean":
                ok = isinstance(value, bool)
            elif f.codelist:
                ok = str(value) in schema.codelists[f.codelist].values
            else:
                ok = True
            if not ok:
                lint.add(path, line, "unknown-code",
                         f"{value!r} is not a value of {table}.{field}",
                         f"{value!r} er ikke en verdi av {table}.{field}",
                         f"code list {f.codelist}" if f.codelist else "a boolean (true/false)")


def lint(paths: Sequence[Path] | None = None, *, run_conformance: bool = True,
         lock: Mapping[str, Mapping[str, str]] | None = None) -> list[LintIssue]:
    """Lint indicator specs; return the problems found (empty when all is well).

    Parameters
    ----------
    paths : sequence of Path, optional
        Spec files or folders; default ``spec/indicators``.
    run_conformance : bool
        Also run the conformance cases of adopted indicators.
    lock : mapping, optional
        Released versions and hashes to compare with; default ``spec/spec.lock``.

    Examples
    --------
    >>> from kadindicators.spec.lint import lint
    >>> lint(run_conformance=False)
    []

    .. versionchanged:: 0.2.0
       Issues have a ``severity``; ``TODO`` texts are reported (``todo``).
    """
    from ..indicators import REGISTRY
    from ..testing.conformance import load_cases, run_case

    root = spec_root()
    files: list[Path] = []
    for p in paths or [root / "indicators"]:
        p = Path(p)
        files += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    lint_ = _Linter()
    seen: dict[str, Path] = {}
    specs: list[tuple[IndicatorSpec, Mapping[tuple[str, ...], int]]] = []
    lines: Mapping[tuple[str, ...], int]
    schema_version = load_schema().version
    for path in files:
        try:
            raw, lines = _yaml.load_with_lines(path)
        except SpecError as exc:
            lint_.add(path, None, "yaml", exc.message_en, exc.message_nb)
            continue
        errors = schema_errors(raw)
        for where, msg in errors:
            lint_.add(path, _line(lines, where.split(".") if where != "(top level)" else []),
                      "format", f"{where}: {msg}", f"{where}: {msg}",
                      "see spec/indicator.schema.json", "se spec/indicator.schema.json")
        if errors or not isinstance(raw, Mapping):
            continue
        raw = jsonable(raw)
        spec = _build(raw, path)
        if spec.id in seen:
            lint_.add(path, _line(lines, ["id"]), "duplicate-id",
                      f"id {spec.id} is also used by {seen[spec.id]}",
                      f"id {spec.id} brukes også av {seen[spec.id]}", "ids are unique and never reused")
        seen[spec.id] = path
        if path.stem != spec.id:
            lint_.add(path, _line(lines, ["id"]), "file-name", f"file should be named {spec.id}.yaml",
                      f"filen bør hete {spec.id}.yaml")
        if not any(c["version"] == spec.version for c in raw["changelog"]):
            lint_.add(path, _line(lines, ["changelog"]), "changelog",
                      f"the changelog has no entry for version {spec.version}",
                      f"endringsloggen mangler versjon {spec.version}", "add an entry describing the change")
        if raw["status_history"][-1]["status"] != spec.status:
            lint_.add(path, _line(lines, ["status_history"]), "status-history",
                      "the last status_history entry differs from status",
                      "siste status_history-oppføring er ulik status")
        if not _in_range(schema_version, raw["data_requirements"]["schema_version"]):
            lint_.add(path, _line(lines, ["data_requirements", "schema_version"]), "schema-version",
                      f"reporting schema {schema_version} is outside {raw['data_requirements']['schema_version']}",
                      f"rapporteringsskjema {schema_version} er utenfor {raw['data_requirements']['schema_version']}")
        _check_refs(lint_, path, raw, lines)
        lint_.todo(path, raw, lines, spec.status)
        specs.append((spec, lines))

    locked = read_lock(root) if lock is None else lock
    cases = load_cases(root)  # coverage is checked even when the cases are not run
    for spec, lines in specs:
        path = spec.path
        for c in cases:
            if c.indicator == spec.id:
                craw, clines = _yaml.load_with_lines(c.path)
                lint_.todo(c.path, craw, clines, spec.status)
                if not resolve_ref(spec.raw, c.spec_ref):
                    lint_.add(c.path, _line(clines, ["spec_ref"]), "spec-ref",
                              f"spec_ref {c.spec_ref!r} names no clause of {spec.id}",
                              f"spec_ref {c.spec_ref!r} peker ikke på noen del av {spec.id}",
                              "use a dotted path into the spec, e.g. numerator or exclusions.<id>",
                              "bruk en punktsti inn i spesifikasjonen, f.eks. numerator eller exclusions.<id>")
        old = locked.get(spec.id)
        if old:
            changed = old["definition_hash"] != spec.definition_hash
            if changed and _version_tuple(spec.version)[0] <= _version_tuple(old["version"])[0]:
                lint_.add(path, _line(lines, ["version"]), "version-bump",
                          f"the definition changed since {old['version']} but the major version did not",
                          f"definisjonen er endret siden {old['version']}, men hovedversjonen er ikke økt",
                          "a change of numerator, denominator, exclusions, period attribution or unit "
                          "is a major change (spec/VERSIONING.md)")
            elif _version_tuple(spec.version) < _version_tuple(old["version"]):
                lint_.add(path, _line(lines, ["version"]), "version-bump",
                          f"version {spec.version} is lower than the released {old['version']}",
                          f"versjon {spec.version} er lavere enn utgitt {old['version']}")
        if spec.status != "adopted":
            continue
        impl = REGISTRY.get(spec.id)
        if impl is None:
            lint_.add(path, _line(lines, ["status"]), "no-implementation",
                      "adopted, but no implementation is registered",
                      "vedtatt, men ingen implementasjon er registrert",
                      "register a function with @indicator(id, version=...)")
        elif impl[0] != spec.version:
            lint_.add(path, _line(lines, ["version"]), "implementation-version",
                      f"the registered implementation is version {impl[0]}",
                      f"den registrerte implementasjonen har versjon {impl[0]}")
        mine = [c for c in cases if c.indicator == spec.id]
        if not mine:
            lint_.add(path, _line(lines, ["status"]), "no-conformance",
                      "adopted, but there are no conformance cases",
                      "vedtatt, men det finnes ingen konformitetstester",
                      f"add cases under spec/conformance/{spec.id}/")
            continue
        excluded_seen = {k for c in mine for k in (c.expected.get("excluded") or {})}
        for j, ex in enumerate(spec.exclusions):
            if ex not in excluded_seen:
                lint_.add(path, _line(lines, ["exclusions", j]), "coverage",
                          f"exclusion {ex!r} is not exercised by any conformance case",
                          f"eksklusjonen {ex!r} brukes ikke av noen konformitetstest",
                          "add a case whose expected.excluded counts it")
        strata_seen = {s for c in mine for s in c.parameters.get("strata", [])}
        for j, s in enumerate(spec.stratifications):
            if s not in strata_seen:
                lint_.add(path, _line(lines, ["stratifications", j]), "coverage",
                          f"stratification {s!r} is not exercised by any conformance case",
                          f"stratifiseringen {s!r} brukes ikke av noen konformitetstest")
        if run_conformance and impl is not None:
            for c in mine:
                for problem in run_case(c):
                    lint_.add(c.path, None, "conformance", f"{c.id}: {problem}", f"{c.id}: {problem}")
    return lint_.issues
