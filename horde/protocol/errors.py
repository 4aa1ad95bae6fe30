"""The errors of the message layer, named as Locust names them so user code catching them keeps working."""

from __future__ import annotations


class RPCError(Exception):
    """Anything that went wrong moving a message between processes."""


class RPCSendError(RPCError):
    """A message could not be handed to the peer (gone, queue full, socket closed)."""


class RPCReceiveError(RPCError):
    """A frame arrived that is not a valid message of our protocol; the receiver logs, counts and drops it."""

    def __init__(self, message: str, *, version_mismatch: bool = False) -> None:
        super().__init__(message)
        self.version_mismatch = version_mismatch
