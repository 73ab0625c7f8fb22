"""A griffe extension for the API reference: the package's docstrings are written for
``help()`` and Sphinx habits, so this renders them as Markdown before mkdocstrings does.

* ``:class:`~helios_async.X``` (also ``:exc:``, ``:meth:``, ``:func:``, ``:attr:``,
  ``:data:``) becomes a cross-reference link when it names something in ``helios_async``,
  and inline code otherwise;
* a paragraph ending in ``::`` followed by an indented block becomes a fenced code block.

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings...extensions``); excluded from the site.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|exc|meth|func|attr|data|obj|mod):`(~?)([\w.]+)(\(\))?`")


def _role(match: re.Match[str]) -> str:
    short, target, parens = match.group(1), match.group(2), match.group(3) or ""
    shown = target.rsplit(".", 1)[-1] if short else target
    if target.startswith("helios_async."):
        return f"[`{shown}{parens}`][{target}]"
    return f"`{shown}{parens}`"


def _fence_literal_blocks(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and line.strip() != "::":
            out.append(line.rstrip()[:-1])  # "an example::" -> "an example:"
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" ")):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
                body = [b[indent:] for b in block]
                language = "python"
                if any("├" in b or "└" in b for b in body):  # a tree diagram, not code
                    language = "text"
                    body = [b.replace("``", "") for b in body]
                out.extend(["", f"```{language}", *body, "```", ""])
                i = j
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def render(text: str) -> str:
    """A docstring's text with roles linked and ``::`` blocks fenced."""
    return ROLE.sub(_role, _fence_literal_blocks(text))


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrites every docstring of the loaded objects with :func:`render`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = render(obj.docstring.value)
