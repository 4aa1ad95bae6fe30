"""Locust's ``locust.clients``: HttpUser's requests-based session and its ``catch_response`` response."""

from horde.runtime.http import HttpSession, LocustResponse, ResponseContextManager

__all__ = ["HttpSession", "LocustResponse", "ResponseContextManager"]
