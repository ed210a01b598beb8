"""How a log line looks, as text or as JSON (``BB_LOG_FORMAT``), for every process of a
node: the signalling process and its media workers write to the same stream."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter


def formatter(log_format: str, text: str, context: str) -> logging.Formatter:
    """``text``: the %-style line for the text format; ``context``: the record attribute
    that says where the line comes from (a request id, a worker's process id), added
    to the JSON fields."""
    if log_format == "json":
        return JsonFormatter(
            "{asctime}{levelname}{name}{message}{" + context + "}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(text)
