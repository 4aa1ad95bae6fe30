"""A request's body from what a locustfile passes (``data=`` of any type, ``json=``, ``files=``), with the headers
it implies; the same encodings as requests, so HttpUser and FastHttpUser send the same bytes."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from requests.models import RequestEncodingMixin


def encode_body(data: Any, json: Any, files: Any) -> tuple[bytes, list[tuple[str, str]]]:
    """(body, implied headers): Content-Type when the body type implies one, Transfer-Encoding for a generator.

    A generator or other iterable of chunks is sent chunked; a file object is read whole, its length known.
    """
    if files:
        body, content_type = RequestEncodingMixin._encode_files(files, data or {})  # type: ignore[attr-defined]
        return body, [("Content-Type", content_type)]
    if not data and json is not None:
        return jsonlib.dumps(json).encode(), [("Content-Type", "application/json"), ("Accept", "application/json")]
    if data is None:
        return b"", []
    if isinstance(data, bytes):
        return data, []
    if isinstance(data, str):
        return data.encode(), []
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data), []
    if hasattr(data, "read"):
        content = data.read()
        return (content.encode() if isinstance(content, str) else bytes(content)), []
    if isinstance(data, Mapping) or (isinstance(data, (list, tuple)) and all(isinstance(i, tuple) for i in data)):
        return urlencode(data, doseq=True).encode(), [("Content-Type", "application/x-www-form-urlencoded")]
    if isinstance(data, Iterable):
        chunks = []
        for chunk in data:
            part = chunk.encode() if isinstance(chunk, str) else bytes(chunk)
            if part:
                chunks.append(b"%x\r\n%s\r\n" % (len(part), part))
        chunks.append(b"0\r\n\r\n")
        return b"".join(chunks), [("Transfer-Encoding", "chunked")]
    raise TypeError(f"data= of type {type(data).__name__} is not supported: pass bytes, str, a dict, a file or chunks")
