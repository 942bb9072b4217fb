"""Local Sphinx extension: render the standard (``spec/``) into reference pages.

At ``builder-inited`` this writes Markdown pages into ``reference/_generated/``
(git-ignored) from what the package loads, so the pages cannot drift from
``spec/``:

- ``schema/``: one page per table of the reporting schema, the time semantics
  and the field types (:func:`kadindicators.spec.load_schema`);
- ``rules/``: one page per validation rule, and an index table;
- ``codelists/``: one page per code list;
- ``indicators/``: one page per indicator specification
  (:func:`kadindicators.spec.indicators.load_indicators`), with its
  conformance cases (:func:`kadindicators.testing.conformance.load_cases`);
- ``indicator-format.md``: the fields of the indicator format, from its JSON
  Schema (:func:`kadindicators.spec.indicators.format_schema`);
- ``cli.md``: the help of every command, in English and Norwegian
  (:func:`kadindicators.cli.build_parser`).

Nothing here restates the spec: texts, codes and numbers come from the loaded
objects and are laid out by the Jinja templates in ``_templates/kadspec/``.
A page is rewritten only when its text changes, and pages whose source has gone
are removed, so incremental builds stay fast and correct.

It also checks that ``reference/api.md`` lists exactly ``kadindicators.__all__``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

OUT = Path("reference") / "_generated"
#: Sub-folders and files of OUT this extension owns (autosummary writes OUT/api).
MANAGED = ("schema", "rules", "codelists", "indicators", "cli.md", "indicator-format.md")

# Field attributes of the table grammar (spec/README.md, "Field grammar") and the rule
# each one triggers; used to list, on a rule's page, the fields it can be reported for.
# Every id is checked against the rule catalogue at build time.
ATTRIBUTE_RULES: dict[str, str] = {
    "required": "required-missing",
    "recommended": "recommended-missing",
    "unique": "duplicate-key",
    "codelist": "code-unknown",
    "on_invalid: nullify": "code-invalid-nullified",
    "min/max": "range-out-of-bounds",
    "pattern": "pattern-mismatch",
    "max_length": "value-too-long",
}


# -- Markdown helpers (used as Jinja filters) ---------------------------------------------

_ESCAPE = re.compile(r"([\\`*_{}\[\]<>|#$~^])")
_BLOCK_START = re.compile(r"^(\s*)([-+>]|\d+[.)])(\s)")


def esc(text: Any) -> str:
    """Escape text so Markdown shows it literally (prose; paragraphs are kept)."""
    if text is None:
        return ""
    paras = re.split(r"\n\s*\n", str(text).strip())
    out = []
    for p in paras:
        p = " ".join(p.split())
        p = _ESCAPE.sub(r"\\\1", p)
        p = _BLOCK_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), p)
        out.append(p)
    return "\n\n".join(out)


def esc_code(text: Any) -> str:
    """Like :func:`esc`, but keeps `backtick` code spans (JSON Schema descriptions use them)."""
    parts = re.split(r"(`[^`]+`)", " ".join(str(text or "").split()))
    return "".join(code(p[1:-1]) if p.startswith("`") and p.endswith("`") and len(p) > 1
                   else _ESCAPE.sub(r"\\\1", p) for p in parts)


def inline(text: str) -> str:
    """Undo the table escape of ``|`` for Markdown used outside a table."""
    return text.replace("\\|", "|")


def cell(text: Any) -> str:
    """Escape text for one cell of a Markdown table (one line)."""
    return " ".join(esc(text).split())


def code(text: Any) -> str:
    """An inline code span holding ``text`` literally (safe in table cells)."""
    if text is None or text == "":
        return ""
    s = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")) else ""
    return f"{fence}{pad}{s}{pad}{fence}".replace("|", "\\|")


def icode(text: Any) -> str:
    """An inline code span outside tables (a ``|`` stays as it is)."""
    return code(text).replace("\\|", "|")


def value_text(v: Any) -> str:
    """A YAML value as written in a CSV export (the conformance runner's own rendering)."""
    from kadindicators.testing.conformance import cell_text

    if isinstance(v, Mapping):
        return json.dumps({str(k): value_text(x) for k, x in v.items()}, ensure_ascii=False)
    return cell_text(v) or ""


def cval(v: Any) -> str:
    """A value for a table cell: code span, empty cell for null."""
    return code(value_text(v)) if v is not None else ""


def join_codes(items: Iterable[Any], sep: str = ", ") -> str:
    """``a, b, c`` as code spans."""
    return sep.join(code(value_text(i)) for i in items)


def ref(label: str, text: str | None = None) -> str:
    """A ``{ref}`` role to a label, with optional text."""
    if text is None:
        return f"{{ref}}`{label}`"
    t = text.replace("<", "\\<").replace("`", "")
    return f"{{ref}}`{t} <{label}>`"


def label(kind: str, name: str) -> str:
    """The label of a generated page (Sphinx lowercases labels)."""
    return f"{kind}-{name}".lower()


def page_name(name: str) -> str:
    """A file name (without suffix) for an id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


# -- writing -----------------------------------------------------------------------------

class Writer:
    """Collects generated pages; writes changed ones and removes stale ones."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pages: dict[Path, str] = {}

    def add(self, rel: str | Path, text: str) -> None:
        self.pages[self.root / rel] = text.rstrip() + "\n"

    def flush(self) -> tuple[int, int]:
        written = removed = 0
        for path, text in self.pages.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                written += 1
        for name in MANAGED:
            base = self.root / name
            if base.is_file() and base not in self.pages:
                base.unlink()
                removed += 1
            elif base.is_dir():
                for p in sorted(base.rglob("*"), reverse=True):
                    if p.is_file() and p not in self.pages:
                        p.unlink()
                        removed += 1
                    elif p.is_dir() and not any(p.iterdir()):
                        p.rmdir()
        return written, removed


def _environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(esc=esc, esc_code=esc_code, inline=inline, cell=cell, code=code, icode=icode,
                       cval=cval,
                       join_codes=join_codes, value_text=value_text)
    env.globals.update(ref=ref, label=label, page_name=page_name)
    return env


# -- the schema ----------------------------------------------------------------------------

def _field_rules(schema: Any) -> dict[str, list[tuple[str, str, str]]]:
    """Rule id -> [(table, field, why)] for rules triggered by field attributes."""
    out: dict[str, list[tuple[str, str, str]]] = {}

    def add(rule: str, table: str, field: str, why: str) -> None:
        out.setdefault(rule, []).append((table, field, why))

    for t in schema.tables.values():
        for f in t.fields:
            if f.required:
                add(ATTRIBUTE_RULES["required"], t.name, f.name, "required")
            if f.recommended:
                add(ATTRIBUTE_RULES["recommended"], t.name, f.name, "recommended")
            if f.unique:
                add(ATTRIBUTE_RULES["unique"], t.name, f.name, "unique")
            if f.codelist and f.on_invalid == "reject":
                add(ATTRIBUTE_RULES["codelist"], t.name, f.name, f"code list {f.codelist}")
            if f.on_invalid == "nullify":
                add(ATTRIBUTE_RULES["on_invalid: nullify"], t.name, f.name, "on_invalid: nullify")
            if (f.min is not None or f.max is not None) and f.on_invalid == "reject":
                add(ATTRIBUTE_RULES["min/max"], t.name, f.name, f"range [{f.min}, {f.max}]")
            if f.pattern and f.on_invalid == "reject":
                add(ATTRIBUTE_RULES["pattern"], t.name, f.name, f"pattern {f.pattern}")
            if f.max_length is not None:
                add(ATTRIBUTE_RULES["max_length"], t.name, f.name, f"max_length {f.max_length}")
            if f.warn_rule:
                add(f.warn_rule, t.name, f.name, f"warn_below {f.warn_below}")
        if len(t.key) > 1:
            add(ATTRIBUTE_RULES["unique"], t.name, "+".join(t.key), "key")
    return out


def _schema_pages(w: Writer, env: jinja2.Environment, schema: Any) -> None:
    codelist_users: dict[str, list[tuple[str, str]]] = {}
    for t in schema.tables.values():
        for f in t.fields:
            if f.codelist:
                codelist_users.setdefault(f.codelist, []).append((t.name, f.name))
    table_rules: dict[str, list[str]] = {}
    for t in schema.tables.values():
        for r in t.rules:
            table_rules.setdefault(r, []).append(t.name)
    by_field = _field_rules(schema)
    for rid in set(ATTRIBUTE_RULES.values()) - set(schema.rules):
        logger.warning("kadspec: rule %r (field attribute) is not in spec/schema/rules.yaml", rid,
                       type="kadspec")

    w.add("schema/index.md", env.get_template("schema_index.md.jinja").render(schema=schema))
    w.add("schema/time.md", env.get_template("time.md.jinja").render(schema=schema))
    for t in schema.tables.values():
        w.add(f"schema/{page_name(t.name)}.md",
              env.get_template("table.md.jinja").render(schema=schema, table=t))

    w.add("codelists/index.md", env.get_template("codelist_index.md.jinja").render(
        schema=schema, users=codelist_users))
    for cl in schema.codelists.values():
        has = {
            "en": any(c.label.en != c.label.nb for c in cl.codes),
            "aliases": any(c.aliases for c in cl.codes),
            "validity": any(c.valid_from or c.valid_to or c.replaced_by for c in cl.codes),
            # further attributes the list gives its codes (e.g. an item's scale), one column each
            "attributes": list(dict.fromkeys(k for c in cl.codes for k in c.attributes)),
        }
        w.add(f"codelists/{page_name(cl.id)}.md", env.get_template("codelist.md.jinja").render(
            schema=schema, cl=cl, has=has, users=codelist_users.get(cl.id, [])))

    w.add("rules/index.md", env.get_template("rule_index.md.jinja").render(
        schema=schema, table_rules=table_rules))
    for r in schema.rules.values():
        w.add(f"rules/{page_name(r.id)}.md", env.get_template("rule.md.jinja").render(
            schema=schema, rule=r, tables=table_rules.get(r.id, []), fields=by_field.get(r.id, [])))


# -- indicators ------------------------------------------------------------------------------

def _columns(rows: Sequence[Mapping[str, Any]], order: Sequence[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        for k in r:
            seen.setdefault(str(k), None)
    first = [c for c in order if c in seen]
    return first + [c for c in seen if c not in first]


def _case_view(case: Any, schema: Any) -> dict[str, Any]:
    description = getattr(case, "description", None)
    if description is None:
        from kadindicators import _yaml  # the package's safe loader

        description = (_yaml.load(case.path) or {}).get("description")
    inputs = []
    for table, rows in case.input.items():
        order = schema.tables[table].field_names if table in schema.tables else ()
        cols = _columns(rows, order)
        inputs.append({"table": table, "columns": cols,
                       "rows": [[r.get(c) for c in cols] for r in rows]})
    want = case.expected.get("rows", []) or []
    dims = [*case.parameters.get("by", []), *case.parameters.get("strata", [])]
    cols = _columns(want, _result_columns(dims))
    return {
        "case": case,
        "description": description if isinstance(description, Mapping) else None,
        "inputs": inputs,
        "expected_columns": cols,
        # a column a row leaves out is not compared ("—"); an explicit null must be null
        "expected_rows": [[("null" if r[c] is None else cval(r[c])) if c in r else "—" for c in cols]
                          for r in want],
        "excluded": case.expected.get("excluded"),
    }


def _result_columns(dims: Sequence[str]) -> list[str]:
    """The columns of a result table, in the engine's order (for the expected rows)."""
    try:  # the engine's result schema is the one source of the column order
        from kadindicators.indicators._engine import result_schema

        names = list(result_schema(list(dims)).names)
    except Exception:  # noqa: BLE001 - an engine in flux must not break the docs
        names = ["period", *dims]
    return [n for n in names if n not in ("indicator_id", "indicator_version", "period_start",
                                          "period_end")]


def _indicator_pages(w: Writer, env: jinja2.Environment, schema: Any) -> None:
    from kadindicators.errors import SpecError
    from kadindicators.spec.indicators import load_indicator_file, load_indicators

    broken: set[str] = set()
    try:
        specs = dict(load_indicators())
    except (SpecError, OSError, ValueError) as exc:
        # One bad file must not hide the others: load them one by one (a warning fails the build).
        from kadindicators._resources import spec_root

        logger.warning("kadspec: cannot load the indicator specifications: %s", exc, type="kadspec")
        specs = {}
        for path in sorted((spec_root() / "indicators").glob("*.yaml")):
            try:
                one = load_indicator_file(path)
            except (SpecError, OSError, ValueError, KeyError, TypeError):
                broken.add(path.stem)
                continue
            specs.setdefault(one.id, one)
    try:
        from kadindicators.testing.conformance import load_cases

        cases = load_cases()
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("kadspec: cannot load the conformance cases: %s", exc, type="kadspec")
        cases = []
    by_indicator: dict[str, list[Any]] = {}
    for c in cases:
        by_indicator.setdefault(c.indicator, []).append(c)
    for orphan in sorted(set(by_indicator) - set(specs) - broken):
        logger.warning("kadspec: conformance cases for %s, which has no specification", orphan,
                       type="kadspec")
    try:
        from kadindicators.indicators import REGISTRY

        registry = {k: v[0] for k, v in REGISTRY.items()}
    except Exception as exc:  # noqa: BLE001 - the docs still render the spec without an implementation
        logger.warning("kadspec: cannot import the indicator registry: %s", exc, type="kadspec")
        registry = {}
    ordered = [specs[k] for k in sorted(specs)]
    w.add("indicators/index.md", env.get_template("indicator_index.md.jinja").render(
        specs=ordered, cases=by_indicator, registry=registry))
    for s in ordered:
        views = [_case_view(c, schema) for c in by_indicator.get(s.id, [])]
        w.add(f"indicators/{page_name(s.id)}.md", env.get_template("indicator.md.jinja").render(
            schema=schema, spec=s, raw=s.raw, cases=views, implemented=registry.get(s.id),
            known_fields={(t.name, f.name) for t in schema.tables.values() for f in t.fields}))


# -- the indicator format (JSON Schema) ---------------------------------------------------------

def _kind(node: Mapping[str, Any]) -> str:
    """What a JSON Schema node allows, in a few words of Markdown."""
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        return f"[{name}](#format-def-{name.replace('_', '-')})"
    if "enum" in node:
        return "one of " + join_codes(node["enum"])
    if "oneOf" in node:
        return " or ".join(_kind(n) for n in node["oneOf"])
    t = node.get("type")
    if t == "array":
        return "list of " + _kind(node.get("items", {}))
    if isinstance(t, list):
        return " or ".join(map(str, t))
    return str(t or "any")


def _constraints(node: Mapping[str, Any]) -> str:
    keys = ("pattern", "minimum", "exclusiveMinimum", "exclusiveMaximum", "minItems", "minLength",
            "uniqueItems")
    parts = [f"{k} {code(value_text(node[k]))}" for k in keys if k in node]
    items = node.get("items")
    if isinstance(items, Mapping):
        parts += [f"items: {c}" for c in [_constraints(items)] if c]
    return "; ".join(parts)


def _format_rows(node: Mapping[str, Any], prefix: str = "") -> Iterator[dict[str, str]]:
    required = set(node.get("required", ()))
    for name, sub in (node.get("properties") or {}).items():
        path = f"{prefix}{name}"
        yield {"path": path, "required": "yes" if name in required else "",
               "kind": _kind(sub), "constraints": _constraints(sub),
               "template": str(sub.get("x-template", "")), "fhir": str(sub.get("x-fhir", "")),
               "description": str(sub.get("description", ""))}
        nested = [sub, sub.get("items") or {}, *(sub.get("oneOf") or [])]
        for n in nested:
            if isinstance(n, Mapping) and n.get("properties"):
                yield from _format_rows(n, path + ("[]." if n is sub.get("items") else "."))


def _format_page(w: Writer, env: jinja2.Environment) -> None:
    from kadindicators.spec.indicators import format_schema

    fs = format_schema()
    defs = [{"name": k, "anchor": "format-def-" + k.replace("_", "-"), "kind": _kind(v),
             "constraints": _constraints(v), "description": str(v.get("description", "")),
             "rows": list(_format_rows(v))} for k, v in (fs.get("$defs") or {}).items()]
    w.add("indicator-format.md", env.get_template("indicator_format.md.jinja").render(
        fs=fs, rows=list(_format_rows(fs)), defs=defs))


# -- CLI ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def _columns_env(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
          ) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:  # argparse keeps subcommands here; there is no public API
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, (*path, name))


def _cli_page(w: Writer, env: jinja2.Environment) -> None:
    from kadindicators.cli import build_parser

    langs = []
    with _columns_env(100):
        for lang in ("en", "nb"):
            commands = [{"path": " ".join(("kadindicators", *p)), "help": sub.format_help().rstrip()}
                        for p, sub in _walk(build_parser(lang))]
            langs.append({"lang": lang, "commands": commands})
    w.add("cli.md", env.get_template("cli.md.jinja").render(langs=langs))


# -- API surface check --------------------------------------------------------------------------

def _check_api_page(srcdir: Path) -> None:
    import kadindicators

    page = srcdir / "reference" / "api.md"
    if not page.exists():
        logger.warning("kadspec: reference/api.md is missing", type="kadspec")
        return
    listed: list[str] = []
    in_block = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if re.match(r"\s*\.\. autosummary::", line):
            in_block = True
            continue
        if in_block:
            if re.match(r"\s*```", line) or re.match(r"\S", line):
                in_block = False
            elif re.match(r"\s+[A-Za-z_][\w.]*\s*$", line):
                listed.append(line.strip())
    public = set(kadindicators.__all__)
    missing = sorted(public - set(listed))
    extra = sorted(set(listed) - public)
    if missing or extra:
        logger.warning("kadspec: reference/api.md must list exactly kadindicators.__all__; "
                       "missing: %s; not in __all__: %s", missing or "none", extra or "none",
                       type="kadspec", location="reference/api")


# -- Sphinx hook -------------------------------------------------------------------------------

def generate(app: Sphinx) -> None:
    """Write the generated reference pages (``builder-inited``)."""
    from kadindicators.spec import load_schema

    srcdir = Path(app.srcdir)
    env = _environment(Path(app.confdir) / "_templates" / "kadspec")
    w = Writer(srcdir / OUT)
    schema = load_schema()
    _schema_pages(w, env, schema)
    _indicator_pages(w, env, schema)
    _format_page(w, env)
    _cli_page(w, env)
    written, removed = w.flush()
    logger.info("kadspec: %d generated pages (%d written, %d removed)", len(w.pages), written, removed)
    _check_api_page(srcdir)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the generator; it runs before autosummary's stub generation."""
    app.connect("builder-inited", generate, priority=400)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
