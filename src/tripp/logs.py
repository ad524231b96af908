"""Where tripp's own log records go when it runs as a process.

uvicorn's ``log_level`` governs only its loggers; without this, ``tripp.*`` records fall to
Python's last-resort handler, which shows warnings and above with no time or origin.
"""

from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_tripp_handler"


def configure(level: str) -> None:
    """Send ``tripp.*`` records at ``level`` (TRIPP_LOG_LEVEL) and above to stderr.

    Idempotent: a second call only changes the level, so a process never prints a line twice.
    """
    logger = logging.getLogger("tripp")
    logger.setLevel(level.upper())
    if not any(getattr(h, _MARK, False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
    # The root logger may have handlers of its own (the post node's, a host application's).
    logger.propagate = False
