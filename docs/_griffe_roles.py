"""A griffe extension for the API reference: the package's docstrings are written for
``help()`` and Sphinx habits, so this renders them as Markdown before mkdocstrings does.

* ``:class:`~helios_async.X``` (also ``:exc:``, ``:meth:``, ``:func:``, ``:attr:``,
  ``:data:``) becomes a cross-reference link when it names something in ``helios_async``,
  and inline code otherwise;
* a paragraph ending in ``::`` followed by an indented block becomes a fenced code block;
* a full link to a section of the docs site (``site_url`` of ``mkdocs.yml`` followed by
  ``page/#anchor``, readable in ``help()``), or ``docs/helios.md#anchor`` as comments write
  it, becomes a link to that heading on this site, titled by the heading, so
  ``mkdocs build --strict`` fails on an anchor that does not exist;
* the fields of an attrs class, which ``griffe_fieldz`` lists after this extension has run,
  are titled "Fields", come before the other sections, keep the docstring written under each
  field, and show a factory default as the value it makes;
* an enum's members are listed in a "Members" table (name, value, and the docstring
  written under each member), and a private base class is not shown.

Loaded by ``mkdocs.yml`` (``plugins.mkdocstrings...extensions``, before ``griffe_fieldz``);
excluded from the site.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Any

import attrs
import griffe
import yaml

DOCS = Path(__file__).parent
ROLE = re.compile(r":(?:class|exc|meth|func|attr|data|obj|mod):`(~?)([\w.]+)(\(\))?`")
HEADING = re.compile(r"^#+\s+(.+?)\s*\{#([\w-]+)\}\s*$", re.MULTILINE)


def _site_url() -> str:
    with (DOCS.parent / "mkdocs.yml").open(encoding="utf-8") as file:
        config = yaml.safe_load(file)
    return str(config["site_url"]).rstrip("/") + "/"


SITE_URL = _site_url()
SITE_LINK = re.compile(re.escape(SITE_URL) + r"[\w/-]*?/?#([\w-]+)|docs/helios\.md#([\w-]+)")


def _heading_titles() -> dict[str, str]:
    titles: dict[str, str] = {}
    for page in DOCS.rglob("*.md"):
        for match in HEADING.finditer(page.read_text(encoding="utf-8")):
            titles[match.group(2)] = match.group(1)
    return titles


TITLES = _heading_titles()


def _role(match: re.Match[str]) -> str:
    short, target, parens = match.group(1), match.group(2), match.group(3) or ""
    shown = target.rsplit(".", 1)[-1] if short else target
    if target.startswith("helios_async."):
        return f"[`{shown}{parens}`][{target}]"
    return f"`{shown}{parens}`"


def _site_link(match: re.Match[str]) -> str:
    anchor = match.group(1) or match.group(2)
    return f"[{TITLES.get(anchor, anchor)}][{anchor}]"


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
    """A docstring's text with roles and site links linked and ``::`` blocks fenced."""
    return SITE_LINK.sub(_site_link, ROLE.sub(_role, _fence_literal_blocks(text)))


def _runtime(obj: griffe.Object) -> Any:
    try:
        return griffe.dynamic_import(obj.path)
    except ImportError:
        return None


def _lead(sections: list[griffe.DocstringSection], section: griffe.DocstringSection) -> None:
    """Move ``section`` right after the leading text of a docstring."""
    sections.remove(section)
    at = 0
    while at < len(sections) and sections[at].kind is griffe.DocstringSectionKind.text:
        at += 1
    sections.insert(at, section)


class SphinxRolesToMarkdown(griffe.Extension):
    """Rewrites every docstring with :func:`render`; lays out attrs fields and enum members."""

    def __init__(self) -> None:
        super().__init__()
        self._field_docs: dict[str, dict[str, str]] = {}

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = render(obj.docstring.value)

    def on_class_members(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        # Runs before griffe_fieldz, which takes the fields out of the members.
        self._field_docs[cls.path] = {
            name: member.docstring.value
            for name, member in cls.attributes.items()
            if member.docstring is not None
        }

    def on_class(self, *, cls: griffe.Class, **kwargs: Any) -> None:
        runtime = _runtime(cls)
        if isinstance(runtime, type) and issubclass(runtime, enum.Enum):
            self._list_members(cls, runtime)
            # A private base (``_OpenEnum``) means nothing to a reader: show only public ones.
            cls.bases = [base for base in cls.bases if not str(base).split(".")[-1].startswith("_")]
        elif isinstance(runtime, type) and attrs.has(runtime):
            self._lay_out_fields(cls, runtime)

    def _lay_out_fields(self, cls: griffe.Class, runtime: type) -> None:
        if cls.docstring is None:
            return
        sections = cls.docstring.parsed
        table = next(
            (s for s in sections if isinstance(s, griffe.DocstringSectionParameters)), None
        )
        if table is None:
            return
        table.title = "Fields:"
        docs = self._field_docs.get(cls.path, {})
        factories = {
            field.name: field.default.factory
            for field in attrs.fields(runtime)
            if isinstance(field.default, attrs.Factory)
        }
        for item in table.value:
            if item.name in docs:
                item.description = docs[item.name]
            if item.name in factories:
                try:
                    item.value = repr(factories[item.name]())
                except TypeError:
                    item.value = "<made per instance>"
        _lead(sections, table)

    def _list_members(self, cls: griffe.Class, runtime: type[enum.Enum]) -> None:
        if cls.docstring is None:
            cls.docstring = griffe.Docstring("", parent=cls)
        rows = []
        for name, member in runtime.__members__.items():
            attribute = cls.members.pop(name, None)
            doc = attribute.docstring.value if attribute and attribute.docstring else ""
            rows.append((name, repr(member.value), doc))
        if rows:
            members = griffe.DocstringSectionText(members_table(rows), title="Members:")
            sections = cls.docstring.parsed
            sections.append(members)
            _lead(sections, members)


def members_table(rows: list[tuple[str, str, str]]) -> str:
    """An enum's "Members" table in Markdown: each member's name, its value (what the API
    sends, ``'COMPLETE_OK'``) and the docstring written under it, on one line per member."""

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [
        '<p><span class="doc-section-title">Members:</span></p>',
        "",
        "| Name | Value | Description |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{name}` | `{cell(value)}` | {cell(doc)} |" for name, value, doc in rows]
    return "\n".join(lines)
