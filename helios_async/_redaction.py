"""Secrets and personal data that hide themselves from reprs, and how URLs are shown.

The key and a presigned upload URL are held as :class:`Secret` and :class:`SignedURL`: plain
``str`` subclasses (so every API that takes a string takes them, and they go on the wire
unchanged) whose ``repr`` hides what they carry. Crash reporters and
``traceback.TracebackException(..., capture_locals=True)`` show a frame's locals by their
``repr``, so a traceback through this library shows ``'<redacted>'`` for the key and the URL
without its query string, where the signature lives.

A copy made by a string operation (slicing, ``str(x)``, concatenation) is a plain ``str``
again: the library never makes one, and neither should code that handles these values.

Personal data is hidden the same way. A model's personal fields (a user label, a date of
birth, a tag's value, a transcript) show as ``<redacted>`` in its repr through
:func:`hidden`, their values unchanged as attributes and in equality; and a JSON body, to the
API or from it, is :class:`PersonalBytes`, whose repr gives only its size.
"""

from __future__ import annotations

import re
from typing import Final

from yarl import URL

REDACTED: Final = "REDACTED"
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}")


class Secret(str):
    """A string whose ``repr`` is ``'<redacted>'``: the API key."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"


class PersonalBytes(bytes):
    """A JSON body that may hold personal data, whose ``repr`` gives only its size, and so
    does ``str`` (which for bytes is only ever a display: ``%s`` in a log line, an f-string).
    Its bytes are unchanged: ``json.loads`` and the wire see them all."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} bytes, redacted>"

    __str__ = __repr__


def personal_bytes(body: bytes) -> PersonalBytes:
    """``body`` as :class:`PersonalBytes` (itself if it is already); an attrs converter."""
    return body if isinstance(body, PersonalBytes) else PersonalBytes(body)


def hidden(value: object) -> str:
    """What a repr shows of a personal field: ``<redacted>``, or the value itself when it
    is None or empty (an empty string or tuple hides nothing); an attrs ``repr=``."""
    return repr(value) if value is None or value == "" or value == () else "<redacted>"


class SignedURL(str):
    """A presigned URL whose ``repr`` drops the query string (the signature and credential)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(redact_url(self))


def signed_url(url: str) -> SignedURL:
    """``url`` as a :class:`SignedURL` (itself if it is one already); an attrs converter."""
    return url if isinstance(url, SignedURL) else SignedURL(url)


def redact_url(url: str) -> str:
    """The URL without its query string, where presigned URLs keep their signature, and
    without any user or password (a base URL may carry them)."""
    parsed = URL(url, encoded=True)
    shown = parsed.with_query(None).with_user(None)
    return str(shown) + ("?<redacted>" if parsed.raw_query_string else "")


def full_url(url: str) -> str:
    """``url`` as the ``url.full`` span attribute shows it: every query value and any user
    info replaced by ``REDACTED``, the query's keys kept.

    The OpenTelemetry conventions list some signature keys to redact (``Signature``,
    ``X-Goog-Signature``, ``sig``, ...) but not AWS's ``X-Amz-Signature`` or
    ``X-Amz-Credential``; a presigned URL's query is all signing material, so every value
    goes, whatever the storage.
    """
    parsed = URL(url, encoded=True)
    if parsed.raw_user or parsed.raw_password:
        parsed = parsed.with_user(REDACTED).with_password(REDACTED)
    query = parsed.raw_query_string
    if not query:
        return str(parsed)
    keys = [part.partition("=")[0] for part in query.split("&") if part]
    shown = "&".join(f"{key}={REDACTED}" for key in keys)
    return str(parsed.with_query(None)) + "?" + shown


def storage_template(url: str) -> str:
    """The low-cardinality ``url.template`` of a presigned upload: the path with its last
    segment (the object key) as ``{object_key}`` and any segment holding a UUID as ``{id}``,
    e.g. ``/helios-sandbox/recordings/{object_key}``."""
    segments = URL(url, encoded=True).raw_path.split("/")
    shown = ["{id}" if _UUID.search(segment) else segment for segment in segments[:-1]]
    return "/".join([*shown, "{object_key}"])


def drop_inner_frames(exc: BaseException) -> None:
    """Cut ``exc``'s traceback below the frame that caught it, and drop the frames of its
    causes, contexts and (for an exception group) members altogether. Call it in an
    ``except`` block, before ``raise``.

    The frames below the transport are aiohttp's, whose locals hold the request's URL (a
    ``yarl.URL``, signature and all) and headers; those below the decoder are json's and
    cattrs's, whose locals hold the body and its parsed values: a traceback formatted with
    its locals would show them. The exceptions themselves, and their messages, are kept.
    """
    if exc.__traceback__ is not None:
        exc.__traceback__.tb_next = None
    seen: set[int] = {id(exc)}
    chained = [exc.__cause__, exc.__context__, *_members(exc)]
    while chained:
        inner = chained.pop()
        if inner is None or id(inner) in seen:
            continue
        seen.add(id(inner))
        inner.__traceback__ = None
        chained += [inner.__cause__, inner.__context__, *_members(inner)]


def _members(exc: BaseException) -> tuple[BaseException, ...]:
    return exc.exceptions if isinstance(exc, BaseExceptionGroup) else ()
