"""structlog set-up: one event a line, a stable event name plus key=value context.

Lines are JSON when stdout is not a terminal (for log shippers) and coloured
key=value when it is.
"""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the moment of writing.

    Loggers are cached on first use; binding them to the stream object of that
    moment would break when the stream is swapped (test runners, CliRunner).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class OneLineErrors(logging.Filter):
    """Folds a record's exception into its message, dropping the traceback.

    asyncpg's pool logs a traceback each time it fails to reconnect while the
    database is away: an expected condition, for which one line naming the error
    says all an operator needs, where a traceback per retry buries everything else.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {record.exc_info[1]!r}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


QUIET_TRACEBACK_LOGGERS = ("asyncpg.pool",)


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    use_json = (not sys.stderr.isatty()) if json is None else json
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(level=numeric, format="%(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "uvicorn.access", "asyncio", "websockets"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    for name in QUIET_TRACEBACK_LOGGERS:
        quiet = logging.getLogger(name)
        if not any(isinstance(f, OneLineErrors) for f in quiet.filters):
            quiet.addFilter(OneLineErrors())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
