"""msgpack framing of protocol messages, with validation on the way in.

A frame pair is `[version, payload]`: the version travels in a frame of its own so that a peer of another protocol
version is recognised before its payload is even parsed.
"""

from __future__ import annotations

import msgspec

from horde.protocol.errors import RPCReceiveError
from horde.protocol.messages import (
    PROTOCOL_VERSION,
    MasterMessage,
    MasterMessageType,
    WorkerMessage,
    WorkerMessageType,
)

MAX_FRAME_BYTES = 16 * 1024 * 1024
VERSION_FRAME = str(PROTOCOL_VERSION).encode()

_encoder = msgspec.msgpack.Encoder()
_worker_decoder = msgspec.msgpack.Decoder(WorkerMessageType)
_master_decoder = msgspec.msgpack.Decoder(MasterMessageType)


def encode(message: WorkerMessage | MasterMessage) -> list[bytes]:
    return [VERSION_FRAME, _encoder.encode(message)]


def _check_frames(frames: list[bytes]) -> bytes:
    if len(frames) != 2:
        raise RPCReceiveError(f"expected 2 frames (version, payload), got {len(frames)}")
    version, payload = frames
    if version != VERSION_FRAME:
        raise RPCReceiveError(
            f"protocol version {version[:16]!r} is not ours ({PROTOCOL_VERSION})", version_mismatch=True
        )
    if len(payload) > MAX_FRAME_BYTES:
        raise RPCReceiveError(f"frame of {len(payload)} bytes is over the {MAX_FRAME_BYTES}-byte limit")
    return payload


def decode_from_worker(frames: list[bytes]) -> WorkerMessageType:
    payload = _check_frames(frames)
    try:
        message: WorkerMessageType = _worker_decoder.decode(payload)
        return message
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RPCReceiveError(f"malformed worker message: {exc}") from None


def decode_from_master(frames: list[bytes]) -> MasterMessageType:
    payload = _check_frames(frames)
    try:
        message: MasterMessageType = _master_decoder.decode(payload)
        return message
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RPCReceiveError(f"malformed master message: {exc}") from None
