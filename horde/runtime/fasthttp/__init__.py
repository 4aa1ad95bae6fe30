"""FastHttpUser: an HTTP/1.1 client built for throughput, with the surface of Locust's FastHttpUser.

The per-request path is kept short on purpose: the request head is a few byte concatenations over headers
precomputed per host, the socket comes from a per-host list of idle keep-alive connections (LIFO; checked
before a POST or PATCH only, which must not be sent twice), and the response is framed with ``bytes.find`` on the
lower-cased head, checked strictly against the grammar (ADR 0022). Headers are parsed into a dict only when the
task reads them.

The modules are private, one job each: `_wire` reads responses off a socket, `_pool` keeps an origin's
connections and precomputed headers, `_body` encodes what a task sends, `_cookies` adapts the standard cookie
jar, `_response` is what a task gets back, `_session` builds requests, sends them and reports them, `_user` gives
each user its session. The names below are the public ones.
"""

from horde.runtime.fasthttp._response import FastRequest, FastResponse, RestResponseContextManager
from horde.runtime.fasthttp._session import FastHttpSession
from horde.runtime.fasthttp._user import FastHttpUser
from horde.runtime.fasthttp._wire import HTTPProtocolError

__all__ = [
    "FastHttpSession",
    "FastHttpUser",
    "FastRequest",
    "FastResponse",
    "HTTPProtocolError",
    "RestResponseContextManager",
]
