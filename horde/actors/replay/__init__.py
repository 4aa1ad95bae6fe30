"""Replay: a run's journal folded back into the states its actors held, and its dispatch decisions re-checked."""

from horde.actors.replay.fold import (
    CHECKPOINT_IMAGE_VERSION,
    TIMELINE_DECODERS,
    Replay,
    ReplayedFile,
    ReplayState,
    check,
    check_checkpoints,
    class_specs,
    records_until,
    replay,
    replay_file,
    replay_journal,
    timeline,
)
from horde.protocol.journal import UPCASTERS
from horde.protocol.journal import decode_record as decode_line
from horde.protocol.journal import read_journal as read

__all__ = [
    "CHECKPOINT_IMAGE_VERSION",
    "TIMELINE_DECODERS",
    "UPCASTERS",
    "Replay",
    "ReplayState",
    "ReplayedFile",
    "check",
    "check_checkpoints",
    "class_specs",
    "decode_line",
    "read",
    "records_until",
    "replay",
    "replay_file",
    "replay_journal",
    "timeline",
]
