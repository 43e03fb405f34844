"""Fixes to the HTML a reader gets, loaded through ``_config.yml`` (``sphinx.local_extensions``).

1. Each inline ``<script>`` once. Sphinx 7.4 adds the scripts that extensions register after the
   builder starts twice: once as registered (file name ``None``) and once more when it prepares
   the pages (file name ``''``), and the two copies do not compare equal. sphinx-thebe's
   ``const THEBE_JS_URL = ...`` then runs twice and every page logs
   ``Uncaught SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``.
2. A valid colour mode: the theme's script logs a console error when no ``default_mode`` is set;
   ``auto`` follows the reader's system setting.
3. An author-year bibliography (``:style: authoryear``): the text cites "Vesseron et al., 2025",
   so the list is labelled the same way and sorted by author and year; DOIs and URLs become links.
4. Execution statistics for ``{nb-exec-table}`` when the notebooks were executed before the
   build (``.ci/build_book.py`` writes ``_exec_stats.json`` beside ``_config.yml`` and builds with
   execution off, so myst-nb has no statistics of its own): each page's run time and status.
"""
from __future__ import annotations

import json
from pathlib import Path

from myst_nb.sphinx_ import NbMetadataCollector
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {})
    name = getattr(script, "filename", script) or ""   # None and "" are the same inline script
    return (str(name), getattr(script, "priority", 500),
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


class AuthorYearLabels(BaseLabelStyle):
    """``Brenier, 1991``, ``Amos and Kolter, 2017``, ``Vesseron et al., 2025`` (a, b on ties)."""

    def format_labels(self, sorted_entries):
        labels = [self._label(entry) for entry in sorted_entries]
        count = {label: labels.count(label) for label in labels}
        seen: dict[str, int] = {}
        for label in labels:
            if count[label] > 1:
                seen[label] = seen.get(label, 0) + 1
                label = label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label

    @staticmethod
    def _label(entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = ["".join(person.last_names).replace("{", "").replace("}", "") for person in persons]
        if not names:
            who = entry.fields.get("title", entry.key)
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(PlainStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def _default_mode(app, config) -> None:
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "auto")   # read by the pydata theme's templates
    config.html_context = context


def _exec_stats(app, doctree) -> None:
    path = Path(app.srcdir) / "_exec_stats.json"
    if not path.exists():
        return
    stats = json.loads(path.read_text()).get(app.env.docname)
    if stats:
        NbMetadataCollector.set_exec_data(app.env, app.env.docname, stats)


def setup(app):
    app.connect("doctree-read", _exec_stats)
    app.connect("config-inited", _default_mode)
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
