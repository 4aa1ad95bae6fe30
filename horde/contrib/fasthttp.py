"""Locust's ``locust.contrib.fasthttp``: FastHttpUser, its session and its response classes.

horde's FastResponse is itself the ``catch_response`` context manager, so it is also ``ResponseContextManager``.
"""

from horde.runtime.fasthttp import (
    FastHttpSession,
    FastHttpUser,
    FastRequest,
    FastResponse,
    HTTPProtocolError,
    RestResponseContextManager,
)

ResponseContextManager = FastResponse

__all__ = [
    "FastHttpSession",
    "FastHttpUser",
    "FastRequest",
    "FastResponse",
    "HTTPProtocolError",
    "ResponseContextManager",
    "RestResponseContextManager",
]
