"""How many users fit in this machine's memory: a user count that cannot fit is refused (a local run) or capped
(a worker) rather than left to grow until the kernel kills the process (ADR 0025)."""

from __future__ import annotations

import psutil

BYTES_PER_USER = 16 * 1024
"""What a user is taken to cost. A waiting user now costs about 2 KiB (it holds no greenlet, ADR 0032) and a
FastHttpUser holding a keep-alive connection about 9 KiB (benchmarks/memory_per_user.py), but a user that is
running a task holds a greenlet and its own state: 16 KiB keeps the guard for counts that are plainly beyond the
machine (`-u 10000000`), not a limit anyone running a real test meets first (the CPU is, long before)."""


def available_bytes() -> int:
    return int(psutil.virtual_memory().available)


def users_that_fit(running: int = 0, available: int | None = None) -> int:
    """`running` users plus as many more as the available memory holds at `BYTES_PER_USER` each."""
    free = available_bytes() if available is None else available
    return running + max(0, free) // BYTES_PER_USER


def capped(counts: dict[str, int], limit: int) -> dict[str, int]:
    """`counts` scaled down to at most `limit` users in all, each class in proportion (floored)."""
    total = sum(counts.values())
    if total <= limit:
        return dict(counts)
    return {name: count * limit // total for name, count in counts.items()}


def too_many_users(users: int, available: int | None = None) -> str:
    """Why `users` cannot fit in this machine's memory, or empty."""
    free = available_bytes() if available is None else available
    fit = users_that_fit(0, free)
    if users <= fit:
        return ""
    need = users * BYTES_PER_USER / 2**30
    return (
        f"{users} users need at least {need:.1f} GiB ({BYTES_PER_USER // 1024} KiB each) but {free / 2**30:.1f} GiB "
        f"of memory is available: at most {fit} users fit on this machine"
    )
