"""Sphinx extension: each script of a page's head written once.

Sphinx 7.4 writes an inline script registered by an extension after the builder starts (an
``app.add_js_file(None, body=...)``: sphinx-thebe's ``const THEBE_JS_URL = ...``, sphinx-togglebutton's
``var togglebuttonSelector = ...``) twice: once as registered (file name None) and once more when
the builder collects the registered scripts before writing (file name ""), and the two do not compare
equal. A second ``const THEBE_JS_URL`` is a SyntaxError in the console of every page. This handler
drops, on each page, a script equal to an earlier one but for that None/"" (same file or body, same
attributes).

Registered in ``_config.yml`` under ``sphinx: local_extensions`` (path relative to ``book/``).
"""

from __future__ import annotations

from typing import Any

__version__ = "1.0"


def _identity(js: Any) -> tuple:
    filename = getattr(js, "filename", js) or ""
    attributes = getattr(js, "attributes", {}) or {}
    return str(filename), tuple(sorted((str(k), str(v)) for k, v in attributes.items()))


def drop_repeated_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    kept = []
    for js in scripts:
        key = _identity(js)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept  # the builder restores its own list after each page


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", drop_repeated_scripts, priority=900)  # after the extensions add theirs
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
