"""Sphinx configuration of the kadindicators documentation.

Build (warnings are errors, nitpicky references; no network needed)::

    PYTHONPATH=src python -m sphinx -W --keep-going -n -b html docs docs/_build/html

The reference pages for the schema, rules, code lists, indicators and CLI are
generated from ``spec/`` at build time by ``_ext/kadspec.py`` into the
git-ignored folder ``reference/_generated/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# Document the checkout's own package (../src), also when another version is installed.
SRC = HERE.parent / "src"
if SRC.is_dir() and str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

import kadindicators

# -- project -------------------------------------------------------------------------
project = "kadindicators"
author = "kadindicators developers"
copyright = "kadindicators developers"
release = kadindicators.__version__
version = ".".join(release.split(".")[:2])
language = "en"  # pages for regions are in Norwegian bokmål first, then English

# -- general -------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "kadspec",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "_ext", ".gitignore", "Thumbs.db", ".DS_Store"]
nitpicky = True
# No intersphinx (the build must work offline), so references to types of other
# projects cannot resolve. Keep this list short; each entry says why.
nitpick_ignore_regex = [
    # pyarrow.Table and friends in numpydoc "Attributes"/"Returns" types and in the pages
    # (pyarrow's inventory is not reachable offline).
    ("py:class", r"pyarrow\.\w+"),
]

# -- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "tasklist"]
myst_heading_anchors = 3

# -- autodoc / autosummary / napoleon ---------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
# numpydoc docstrings carry the types (as in the pandas and numpy docs): signatures
# stay short and free of unresolvable annotation references.
autodoc_typehints = "none"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_param = False  # "path or table-like" stays text, not broken cross-references
napoleon_use_rtype = False
napoleon_use_ivar = True  # an "Attributes" section must not re-declare documented properties
napoleon_custom_sections = ["Calibration"]  # kadindicators.synth documents its calibration

# -- HTML ------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"kadindicators {release}"
html_static_path: list[str] = []
html_show_sourcelink = False


# -- hooks -------------------------------------------------------------------------------
def _no_builtin_docstring(app, what, name, obj, options, lines):
    """Constants such as ``__version__`` would show the docstring of ``str``: drop it."""
    builtin = (type(obj).__doc__ or "").strip().splitlines()
    if what in ("data", "attribute") and builtin and lines and lines[0].strip() == builtin[0].strip():
        lines.clear()


def setup(app):
    app.connect("autodoc-process-docstring", _no_builtin_docstring)
