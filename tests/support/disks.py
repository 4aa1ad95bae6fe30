"""A file on a disk that fills up on demand, for the journal's full-disk paths (ENOSPC) without a real full disk."""

from __future__ import annotations

import errno
import io


class FillingDisk(io.BytesIO):
    """A file whose disk is full while `full` is set, as ENOSPC makes a real one; what it held is `saved` once
    closed."""

    full = False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "no descriptor")

    def close(self) -> None:
        self.saved = self.getvalue()
        super().close()
