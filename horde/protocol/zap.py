"""The master's ZAP handler: which CURVE keys may connect, answered from a greenlet (ADR 0024).

libzmq asks the ZAP handler bound at `inproc://zeromq.zap.01` in the socket's context about every peer that
completes a CURVE handshake, before the peer's first frame is delivered. pyzmq's `ThreadAuthenticator` answers from
a real thread, which stalls under gevent's hub; this answers from a greenlet on a zmq.green REP socket instead.
An admitted peer's `User-Id` is its public key (Z85), so every frame it sends carries the key it proved it holds.
"""

from __future__ import annotations

from collections.abc import Callable

import gevent
import structlog
import zmq.green as zmq
from zmq.utils import z85

from horde.protocol.keys import MasterKeys

log = structlog.get_logger("horde.transport")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"horde"

RefusedHandler = Callable[[str, str], None]
"""`(peer, reason)` for a peer the handler refused: `peer` is its address and the start of its key."""


class ZapResponder:
    """Answers libzmq's ZAP requests for one context: 200 and the key as User-Id, or 400."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], keys: MasterKeys, on_refused: RefusedHandler) -> None:
        self._keys = keys
        self._on_refused = on_refused
        self._socket = context.socket(zmq.REP)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(ZAP_ENDPOINT)
        self._greenlet = gevent.spawn(self._serve)

    def _serve(self) -> None:
        while True:
            try:
                request = self._socket.recv_multipart()
            except zmq.ZMQError:
                return  # closed with the transport
            self._socket.send_multipart(self._answer(request))

    def _answer(self, request: list[bytes]) -> list[bytes]:
        if len(request) < 6:  # not a ZAP request libzmq would send; answer it anyway so the REP socket goes on
            return [b"1.0", request[1] if len(request) > 1 else b"", b"500", b"malformed ZAP request", b"", b""]
        version, request_id, domain, address, _routing_id, mechanism, *credentials = request
        status, text, user_id = b"400", "", b""
        if mechanism != b"CURVE" or len(credentials) != 1 or len(credentials[0]) != 32:
            text = f"not authorised: the {mechanism.decode(errors='replace')} mechanism needs a CURVE key"
        elif domain != ZAP_DOMAIN:
            text = "not authorised: another ZAP domain"
        else:
            key = z85.encode(credentials[0])
            if self._keys.is_authorised(key):
                status, user_id = b"200", key
            else:
                text = f"not authorised: CURVE key {key.decode()[:8]}... is not among the master's worker keys"
        if status != b"200":
            self._on_refused(address.decode(errors="replace")[:64], text)
        return [version, request_id, status, text.encode()[:200], user_id, b""]

    def close(self) -> None:
        self._greenlet.kill(block=False)
        self._socket.close(linger=0)
