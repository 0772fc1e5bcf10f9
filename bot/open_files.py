"""The gateway's limit on open files, raised to what the system allows at start-up.

Every open chat socket (widget, console) holds a file descriptor in the gateway. The
usual soft limit (1024: a login shell's `ulimit -n`, systemd's default `LimitNOFILE`)
would cap one gateway near a thousand open chats, below what it serves, while the hard
limit, the administrator's choice, is far higher. The gateway lifts its soft limit to the
hard limit before it listens; it never asks for more than the hard limit.
"""

from __future__ import annotations

import resource


def raise_open_files_limit() -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; the (old, new) soft
    limit (`resource.RLIM_INFINITY` for no limit). Left as it is if that fails."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard or soft == resource.RLIM_INFINITY:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # e.g. a hard limit above the kernel's nr_open
        return soft, soft
    return soft, hard
