"""Load the reporting schema, the rule catalogue and the code lists from ``spec/``.

Everything is read once per process (cached) with the safe YAML loader. Across
processes, the parsed files are kept in a JSON cache keyed by each file's
SHA-256 (:mod:`kadindicators._cache`): the spec files stay the source of truth,
and a run without a usable cache parses them, with the same result.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from .. import _yaml
from .._cache import DocumentCache
from .._resources import spec_root
from ..errors import SchemaVersionError, SpecError
from .models import (
    FIELD_TYPES,
    AgeBand,
    Code,
    CodeList,
    FieldSpec,
    Rule,
    SchemaSpec,
    TableSpec,
    Text,
)

SEVERITIES = ("error", "warning", "info")


def _fail(path: Path, what: str, what_nb: str) -> SpecError:
    return SpecError(f"{path}: {what}", f"{path}: {what_nb}")


def _text(value: Any, path: Path, where: str) -> Text:
    if isinstance(value, str):
        return Text(nb=value, en=value)
    if not isinstance(value, Mapping) or not {"nb", "en"} <= set(value):
        raise _fail(path, f"{where} must have 'nb' and 'en' texts",
                    f"{where} må ha tekst for 'nb' og 'en'")
    extra = sorted(str(k) for k in value if k not in ("nb", "en"))
    if extra:
        # e.g. {nb: Kjønn (1 mann, 2 kvinne)., en: ...} unquoted: YAML splits the text at the comma
        raise _fail(path, f"{where} has keys besides 'nb' and 'en' ({', '.join(extra)}): quote a text "
                    "that contains a comma or a colon",
                    f"{where} har nøkler utenom 'nb' og 'en' ({', '.join(extra)}): sett en tekst med komma "
                    "eller kolon i anførselstegn")
    return Text(nb=str(value["nb"]).strip(), en=str(value["en"]).strip())


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _field(raw: Mapping[str, Any], path: Path) -> FieldSpec:
    name = raw.get("name")
    if not isinstance(name, str):
        raise _fail(path, "every field needs a 'name'", "hvert felt må ha 'name'")
    ftype = raw.get("type")
    if ftype not in FIELD_TYPES:
        raise _fail(path, f"field {name}: unknown type {ftype!r}; expected one of {FIELD_TYPES}",
                    f"felt {name}: ukjent type {ftype!r}; forventet en av {FIELD_TYPES}")
    if ftype in ("code", "code_list") and not raw.get("codelist"):
        raise _fail(path, f"field {name}: a code field needs 'codelist'",
                    f"felt {name}: et kodefelt må ha 'codelist'")
    on_invalid = raw.get("on_invalid", "reject")
    if on_invalid not in ("reject", "nullify"):
        raise _fail(path, f"field {name}: on_invalid must be reject or nullify",
                    f"felt {name}: on_invalid må være reject eller nullify")
    return FieldSpec(
        name=name,
        type=ftype,
        description=_text(raw.get("description", name), path, f"field {name}: description"),
        required=bool(raw.get("required", False)),
        recommended=bool(raw.get("recommended", False)),
        on_invalid=on_invalid,
        codelist=raw.get("codelist"),
        unit=raw.get("unit"),
        pattern=raw.get("pattern"),
        min=raw.get("min"),
        max=raw.get("max"),
        warn_below=raw.get("warn_below"),
        warn_rule=raw.get("warn_rule"),
        unique=bool(raw.get("unique", False)),
        personal=bool(raw.get("personal", False)),
        max_length=raw.get("max_length"),
        aliases=tuple(str(a) for a in raw.get("aliases", ())),
    )


def _table(path: Path, load: Callable[[Path], Any]) -> TableSpec:
    raw = load(path)
    if not isinstance(raw, Mapping) or "table" not in raw or "fields" not in raw:
        raise _fail(path, "a table file needs 'table' and 'fields'",
                    "en tabellfil må ha 'table' og 'fields'")
    fields = tuple(_field(f, path) for f in raw["fields"])
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise _fail(path, "duplicate field names", "feltnavn finnes flere ganger")
    key = tuple(raw.get("key", ()))
    for k in key:
        if k not in names:
            raise _fail(path, f"key field {k} is not a field", f"nøkkelfeltet {k} er ikke et felt")
    return TableSpec(
        name=str(raw["table"]),
        title=_text(raw.get("title", raw["table"]), path, "title"),
        description=_text(raw.get("description", ""), path, "description"),
        key=key,
        fields=fields,
        rules=tuple(str(r) for r in raw.get("rules", ())),
        since=str(raw.get("since", "1.0.0")),
    )


def _rules(path: Path, load: Callable[[Path], Any]) -> dict[str, Rule]:
    raw = load(path)
    out: dict[str, Rule] = {}
    for r in raw.get("rules", ()):
        rid = r.get("id")
        if not rid or rid in out:
            raise _fail(path, f"rule id missing or duplicated: {rid!r}",
                        f"regel-id mangler eller finnes flere ganger: {rid!r}")
        if r.get("severity") not in SEVERITIES:
            raise _fail(path, f"rule {rid}: severity must be one of {SEVERITIES}",
                        f"regel {rid}: severity må være en av {SEVERITIES}")
        out[rid] = Rule(
            id=rid,
            family=str(r.get("family", "")),
            severity=r["severity"],
            title=_text(r.get("title"), path, f"rule {rid}: title"),
            template=_text(r.get("template"), path, f"rule {rid}: template"),
            fix=_text(r.get("fix"), path, f"rule {rid}: fix"),
            status=str(r.get("status", "active")),
        )
    return out


def _code(raw: Mapping[str, Any], path: Path, list_id: str) -> Code:
    code = raw.get("code")
    if not isinstance(code, str):
        raise _fail(path, f"code list {list_id}: every code must be a quoted string, got {code!r}",
                    f"kodeliste {list_id}: hver kode må være en tekst i anførselstegn, fant {code!r}")
    return Code(
        code=code,
        label=_text(raw.get("label", code), path, f"code {code}: label"),
        aliases=tuple(str(a) for a in raw.get("aliases", ()) or ()),
        valid_from=_date(raw.get("valid_from")),
        valid_to=_date(raw.get("valid_to")),
        replaced_by=tuple(str(c) for c in raw.get("replaced_by", ()) or ()),
        attributes={k: v for k, v in raw.items() if k not in _CODE_KEYS},
    )


_CODE_KEYS = frozenset({"code", "label", "aliases", "valid_from", "valid_to", "replaced_by"})


def _codelist(path: Path, load: Callable[[Path], Any]) -> CodeList:
    raw = load(path)
    if not isinstance(raw, Mapping) or "id" not in raw:
        raise _fail(path, "a code list needs 'id'", "en kodeliste må ha 'id'")
    list_id = str(raw["id"])
    codes = [_code(c, path, list_id) for c in raw.get("codes", ()) or ()]
    # national extensions of an international list (e.g. ICPC-2's Norwegian R991 COVID-19)
    codes += [_code(c, path, list_id) for c in raw.get("norwegian_extensions", ()) or ()]
    # ICPC-2: process codes (components 2-6) are valid with every chapter letter.
    for chapter in raw.get("chapters", ()) or ():
        for proc in raw.get("process_codes", ()) or ():
            codes.append(Code(code=f"{chapter['code']}{proc['code']}",
                              label=_text(proc.get("label", proc["code"]), path, "process code label")))
    sources = raw.get("source", ()) or ()
    if isinstance(sources, Mapping):
        sources = [sources]
    return CodeList(
        id=list_id,
        title=_text(raw.get("title", list_id), path, "title"),
        codes=tuple(codes),
        sources=tuple(dict(s) for s in sources),
    )


def _age_band_list(bands: tuple[AgeBand, ...]) -> CodeList:
    return CodeList(
        id="age_band",
        title=Text(nb="Aldersgruppe", en="Age band"),
        codes=tuple(Code(code=b.code, label=Text(nb=f"{b.code} år", en=f"{b.code} years"))
                    for b in bands),
    )


def available_versions() -> tuple[str, ...]:
    """Versions of the reporting schema this installation can load (oldest first).

    Examples
    --------
    >>> from kadindicators.spec.loader import available_versions
    >>> available_versions()
    ('1.0.0', '1.1.0')
    """
    current = load_schema().version
    return (*_earlier_versions(spec_root()), current)


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


@functools.cache
def _earlier_versions(root: Path) -> tuple[str, ...]:
    """Versions in the schema's ``history`` before the current one, with the same major."""
    head = _yaml.load(root / "schema" / "schema.yaml")
    current = str(head["version"])
    out = [str(h["version"]) for h in head.get("history", ()) or ()
           if _version_key(str(h["version"])) < _version_key(current)
           and _version_key(str(h["version"]))[0] == _version_key(current)[0]]
    return tuple(sorted(out, key=_version_key))


def _as_version(spec: SchemaSpec, version: str) -> SchemaSpec:
    """The schema as it was at an earlier minor ``version``: the tables it had then."""
    key = _version_key(version)
    tables = {k: t for k, t in spec.tables.items() if _version_key(t.since) <= key}
    return attrs.evolve(spec, version=version, tables=tables)


@functools.cache
def _load_current(root: Path) -> SchemaSpec:
    docs = DocumentCache(root)
    spec = _build(root, docs.load)
    docs.save()  # only a spec that loaded without error
    return spec


def _build(root: Path, load: Callable[[Path], Any]) -> SchemaSpec:
    """Build the schema from the files under ``root``; ``load`` parses one YAML file."""
    schema_dir = root / "schema"
    head_path = schema_dir / "schema.yaml"
    head = load(head_path)
    tables = {}
    for name in head.get("tables", ()):
        t = _table(schema_dir / f"{name}.yaml", load)
        if t.name != name:
            raise _fail(schema_dir / f"{name}.yaml", f"table name {t.name!r} does not match file",
                        f"tabellnavnet {t.name!r} stemmer ikke med filen")
        tables[name] = t
    bands = tuple(AgeBand(code=str(b["code"]), min=int(b["min"]),
                          max=None if b.get("max") is None else int(b["max"]))
                  for b in head.get("age_bands", ()))
    codelists = {cl.id: cl for cl in (_codelist(p, load) for p in sorted((root / "codelists").glob("*.yaml")))}
    codelists["age_band"] = _age_band_list(bands)
    rules = _rules(schema_dir / "rules.yaml", load)
    time = head.get("time", {})
    spec = SchemaSpec(
        version=str(head["version"]),
        title=_text(head.get("title"), head_path, "title"),
        timezone=str(time.get("timezone", "Europe/Oslo")),
        time_description=_text(time.get("description", ""), head_path, "time.description"),
        tables=tables,
        rules=rules,
        codelists=codelists,
        age_bands=bands,
        types=dict(head.get("types", {})),
    )
    _cross_check(spec, schema_dir)
    return spec


def _cross_check(spec: SchemaSpec, schema_dir: Path) -> None:
    for table in spec.tables.values():
        path = schema_dir / f"{table.name}.yaml"
        for f in table.fields:
            if f.codelist and f.codelist not in spec.codelists:
                raise _fail(path, f"field {f.name}: unknown code list {f.codelist!r}",
                            f"felt {f.name}: ukjent kodeliste {f.codelist!r}")
            if f.warn_rule and f.warn_rule not in spec.rules:
                raise _fail(path, f"field {f.name}: unknown rule {f.warn_rule!r}",
                            f"felt {f.name}: ukjent regel {f.warn_rule!r}")
        for r in table.rules:
            if r not in spec.rules:
                raise _fail(path, f"unknown rule {r!r}", f"ukjent regel {r!r}")


def load_schema(version: str | None = None) -> SchemaSpec:
    """Load the reporting schema (tables, rules, code lists) from ``spec/``.

    Parameters
    ----------
    version : str, optional
        The schema version asked for; None means the current one.

    Returns
    -------
    SchemaSpec

    Examples
    --------
    >>> from kadindicators.spec import load_schema
    >>> s = load_schema()
    >>> s.version
    '1.1.0'
    >>> s.tables["stays"].field_names[:3]
    ('stay_id', 'patient_id', 'unit_id')

    .. versionadded:: 0.1.0
    """
    spec = _load_current(spec_root())
    if version is not None and version != spec.version and version in _earlier_versions(spec_root()):
        return _as_version(spec, version)
    if version is not None and version != spec.version:
        raise SchemaVersionError(
            f"reporting schema version {version!r} is not available; this installation has {spec.version}",
            f"rapporteringsskjema versjon {version!r} finnes ikke; denne installasjonen har {spec.version}",
            hint_en="install the kadindicators release that ships that version",
            hint_nb="installer kadindicators-versjonen som har den skjemaversjonen",
        )
    return spec
