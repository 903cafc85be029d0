"""Hostile text for the XSS tests, and a parser that finds markup able to run script."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Each breaks out of a different context if it is not escaped: text, a double-quoted
# attribute, a URL, a template engine, a <textarea>, a single-quoted attribute.
PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "attribute": '"><img src=x onerror=alert(1)>',
    "url": "javascript:alert(1)",
    "template": "{{7*7}}",
    "textarea": "</textarea><svg onload=alert(1)>",
    "single-quote": "' onmouseover='alert(1)",
}

_HANDLER = re.compile(r"^(?:data-)?(?:on|hx-on)", re.IGNORECASE)
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "poster",
                             "data", "hx-get", "hx-post", "hx-put", "hx-delete", "hx-patch"})
_BAD_URL = re.compile(r"^\s*(?:javascript|vbscript|data:text/html)", re.IGNORECASE)
_NEVER = frozenset({"iframe", "frame", "object", "embed", "base", "applet"})


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        where = f"<{tag} {' '.join(f'{k}={v!r}' for k, v in attrs)}>"
        for name, value in attrs:
            text = value or ""
            if _HANDLER.match(name):
                self.problems.append(f"event handler attribute {name!r}: {where}")
            if name in _URL_ATTRIBUTES and _BAD_URL.match(text):
                self.problems.append(f"script URL in {name!r}: {where}")
            if name in ("hx-vals", "hx-vars") and "js:" in text:
                self.problems.append(f"script in {name!r}: {where}")
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.problems.append(f"a script that is not the app's own: {where}")
        if tag in _NEVER:
            self.problems.append(f"<{tag}> element: {where}")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.problems.append(f"meta refresh: {where}")
        if tag == "img" and not (values.get("src") or "").startswith("/"):
            self.problems.append(f"an image from elsewhere: {where}")

    handle_startendtag = handle_starttag


def unsafe_markup(html: str) -> list[str]:
    """What in the page could run script: handlers, script URLs, foreign scripts, frames."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.problems
