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
from horde.runtime.renamed import FastHttpLocust

ResponseContextManager = FastResponse

__all__ = [
    "FastHttpLocust",
    "FastHttpSession",
    "FastHttpUser",
    "FastRequest",
    "FastResponse",
    "HTTPProtocolError",
    "ResponseContextManager",
    "RestResponseContextManager",
]
