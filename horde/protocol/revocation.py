"""Which CURVE keys a master still admits, for the workers already connected (ADR 0039).

The ZAP handler judges a key once, at the handshake (ADR 0024): removing a worker's key file refuses its next
connection, but a worker connected before goes on being heard. So the master's transport looks at its key folder
again on a timer; a key no longer there is revoked, and every routing id bound to it is cut off: its frames are
refused as bad frames, the worker is told why (`Reject`) and the master is told it is gone, as when a worker quits.

A folder that cannot be read (being rewritten, a file half written, briefly missing) revokes nothing: connected
workers keep the keys read last, and the ZAP handler, which reads the folder itself, refuses new connections
meanwhile. An empty but readable folder revokes every key read from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from horde.protocol.keys import KeyFileError, MasterKeys, public_keys_signature, read_public_keys

log = structlog.get_logger("horde.transport")


class KeyRevocation:
    """The keys the master admits now, read again only when the folder's files changed, and the routing ids
    already cut off (each is reported once)."""

    def __init__(self, keys: MasterKeys) -> None:
        assert keys.authorised_path is not None
        self._keys = keys
        self._path: str = keys.authorised_path
        self._signature: tuple[tuple[str, int, int, int], ...] | None = None
        self._unreadable = False
        self.authorised: frozenset[bytes] = keys.authorised
        self._cut_off: set[bytes] = set()
        self.refresh()

    def refresh(self) -> bool:
        """Reads the folder if its files changed since the last look; True if the admitted keys changed."""
        try:
            signature = public_keys_signature(self._path)
            if signature == self._signature:
                return False
            read = read_public_keys(self._path)
        except KeyFileError as exc:
            if not self._unreadable:
                log.warning("the worker keys cannot be read: connected workers keep the keys read last", error=str(exc))
            self._unreadable = True
            return False
        self._unreadable, self._signature = False, signature
        authorised = self._keys.authorised | read
        changed = authorised != self.authorised
        self.authorised = authorised
        return changed

    def allows(self, key: bytes) -> bool:
        return key in self.authorised

    def cut_off(self, identity: bytes) -> bool:
        """Marks `identity` cut off; True the first time, when the worker and the master are to be told (a key
        given back later lets the id be heard again, but its worker was told to quit and the master let it go)."""
        if identity in self._cut_off:
            return False
        self._cut_off.add(identity)
        return True

    def revoked(self, bound: Mapping[bytes, bytes]) -> list[tuple[bytes, bytes]]:
        """`(routing id, key)` of every routing id bound to a key no longer admitted and not yet cut off."""
        gone = [(identity, key) for identity, key in bound.items() if key not in self.authorised]
        return [(identity, key) for identity, key in gone if self.cut_off(identity)]


def revoked_reason(key: bytes) -> str:
    return (
        f"not authorised: this worker's CURVE key {key.decode(errors='replace')[:8]}... was revoked "
        "(removed from the master's --worker-public-keys)"
    )
