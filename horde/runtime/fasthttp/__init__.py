"""FastHttpUser: an HTTP/1.1 client built for throughput, with the surface of Locust's FastHttpUser."""

from horde.runtime.fasthttp._session import FastHttpSession, FastHttpUser, FastResponse, HTTPProtocolError

__all__ = ["FastHttpSession", "FastHttpUser", "FastResponse", "HTTPProtocolError"]
