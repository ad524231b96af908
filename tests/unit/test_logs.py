"""TRIPP_LOG_LEVEL governs tripp's own loggers, not only uvicorn's."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tripp import logs
from tripp.config import ConfigError, Settings


@pytest.fixture
def tripp_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("tripp")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def test_records_reach_stderr_at_the_configured_level(
    tripp_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("warning")
    logs.configure("info")  # twice: one handler, the last level
    logging.getLogger("tripp.tracking.listeners").info("listener up")
    logging.getLogger("tripp.db").debug("not shown at info")
    err = capsys.readouterr().err
    assert err.count("listener up") == 1
    assert "INFO tripp.tracking.listeners: listener up" in err
    assert "not shown" not in err


def test_an_unknown_level_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="TRIPP_LOG_LEVEL='loud'"):
        Settings.from_env({"TRIPP_LOG_LEVEL": "loud"})
