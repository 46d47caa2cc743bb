"""Structured logs: every line one event, as JSON (or a console rendering), secrets redacted.

Everything logs through the standard library (``logging.getLogger``: VoxGuard's modules,
uvicorn, Huey, SQLAlchemy) or through structlog; both reach one handler whose
:class:`structlog.stdlib.ProcessorFormatter` adds the time, level, logger name and the
context bound for the current request (its ``request_id``), redacts secrets, and renders.

``VOXGUARD_LOG_FORMAT=json`` (the default of ``voxguard serve`` and ``voxguard worker``):
one JSON object per line on stderr. ``console``: aligned, readable lines for a terminal.
"""

from __future__ import annotations

import logging
import logging.config
import re
from collections.abc import Mapping
from typing import Any, Literal

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]

REDACTED = "[REDACTED]"
# Fields whose whole value is a secret, whatever it looks like.
_SECRET_FIELDS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api_key",
        "apikey",
        "key",
        "token",
        "access_token",
        "refresh_token",
        "password",
        "passwd",
        "secret",
        "jwt_secret",
        "encryption_key",
        "cookie",
        "set-cookie",
    }
)
# Secrets inside free text: credentials in headers, API keys, JWTs, query parameters and
# passwords in URLs. Each keeps what the secret was, never its value.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]+"), rf"\1\2{REDACTED}"),
    (re.compile(r"\b(Basic)(\s+)[A-Za-z0-9+/]{8,}={0,2}"), rf"\1\2{REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), f"{REDACTED}-jwt"),
    (re.compile(r"\bvg_[A-Za-z0-9_-]+"), f"vg_{REDACTED}"),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|secret|token|access_token|api[_-]?key|key"
            r"|authorization|x-api-key)(\"?\s*[=:]\s*\"?)([^&\s\"',;}]+)"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@"), rf"\1{REDACTED}@"),
)


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            k: REDACTED if str(k).lower() in _SECRET_FIELDS else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_secrets(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """Processor: no API key, token, password or Authorization header leaves in a log line."""
    return {
        key: REDACTED if key.lower() in _SECRET_FIELDS else _redact(value)
        for key, value in event_dict.items()
    }


def _uvicorn_fields(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """uvicorn's access lines (when enabled) as fields, not only as text; its copies of
    messages with terminal colour codes dropped."""
    event_dict.pop("color_message", None)
    record = event_dict.get("_record")
    if record is not None and record.name == "uvicorn.access" and len(record.args or ()) == 5:
        client, method, path, _version, status = record.args
        event_dict.update(client=client, method=method, path=path, status=status)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(fmt: LogFormat = "json") -> structlog.stdlib.ProcessorFormatter:
    """The one formatter of every log line (named by :func:`logging_config`, which is how
    uvicorn's worker processes build it too)."""
    _configure_structlog()
    renderer: Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), _uvicorn_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            # Last before rendering: tracebacks and uvicorn's message text are redacted too.
            redact_secrets,
            renderer,
        ],
    )


def _configure_structlog() -> None:
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(fmt: LogFormat = "json", level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: one stderr handler with the structured
    formatter at the root; uvicorn's own handlers removed so its lines go through it."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "voxguard.logs.formatter", "fmt": fmt}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": True},
            "huey": {"level": "WARNING"},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
    }


def configure_logging(fmt: LogFormat = "json", level: str = "INFO") -> dict[str, Any]:
    """Configure this process's logging; returns the dict for uvicorn to apply in its workers."""
    config = logging_config(fmt, level)
    logging.config.dictConfig(config)
    return config
