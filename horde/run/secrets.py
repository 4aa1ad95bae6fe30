"""Secrets never written: the one place that scrubs what a run writes about its own options (ADR 0024).

A secret (the auth token, a locustfile's `is_secret` argument) can reach the command line in any spelling
(`--flag value`, `--flag=value`, an abbreviated `--fl=value`), or the options from the environment or a config
file. Matching the values themselves, rather than the flags, catches every spelling at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "<redacted>"


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def scrub_value(value: Any, secrets: tuple[str, ...]) -> Any:
    """A setting as it may be written: strings scrubbed, lists and maps scrubbed item by item."""
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(item, secrets) for item in value)
    if isinstance(value, Mapping):
        return {key: scrub_value(item, secrets) for key, item in value.items()}
    return value


def scrub_settings(settings: Mapping[str, Any], secrets: tuple[str, ...]) -> dict[str, Any]:
    return {name: scrub_value(value, secrets) for name, value in settings.items()}
