"""Replay: a run's journal folded back into the states its actors held, and its dispatch decisions re-checked.

`fold` rebuilds every actor's state with the actors' own `apply` functions; `check` re-runs the Dispatcher's
pure `decide` on the folded states. Both read only the journal, so two people replaying one file get the same.
The timeline that `horde replay --timeline` prints and the HTML report marks is `horde.protocol.timeline`.
"""

from horde.actors.replay.check import CheckResult, Divergence, check, check_checkpoints, command_of
from horde.actors.replay.fold import (
    CHECKPOINT_IMAGE_VERSION,
    Replay,
    ReplayedFile,
    ReplayState,
    class_specs,
    records_until,
    replay,
    replay_file,
    replay_journal,
)
from horde.protocol.journal import UPCASTERS
from horde.protocol.journal import decode_record as decode_line
from horde.protocol.journal import read_journal as read

__all__ = [
    "CHECKPOINT_IMAGE_VERSION",
    "UPCASTERS",
    "CheckResult",
    "Divergence",
    "Replay",
    "ReplayState",
    "ReplayedFile",
    "check",
    "check_checkpoints",
    "class_specs",
    "command_of",
    "decode_line",
    "read",
    "records_until",
    "replay",
    "replay_file",
    "replay_journal",
]
