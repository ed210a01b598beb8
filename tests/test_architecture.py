"""The shape the README's architecture section promises, checked on the source.

The import rules between the packages are import-linter's contracts (``make check``);
these are the rules it cannot express.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.helpers.constants import ROOT

PACKAGES = ("common", "office", "rooms", "media", "signalling")
MAX_LINES = 450  # a module longer than this holds more than one idea
LOBBY_MAX_LINES = 350  # presence and the push loop, nothing else
NOTIFIER = ROOT / "signalling" / "sockets" / "notifier.py"
MANAGERS = ROOT / "signalling" / "sockets" / "managers.py"
SENDING = {"emit", "enter_room", "leave_room", "close_room"}


def modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def lines_of(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_the_modules_are_found() -> None:
    assert len(modules()) > 50
    assert NOTIFIER in modules()


def test_no_module_is_longer_than_the_limit() -> None:
    too_long = {
        str(path.relative_to(ROOT)): n for path in modules() if (n := lines_of(path)) > MAX_LINES
    }
    assert too_long == {}


def test_the_lobby_keeps_to_presence_and_the_push_loop() -> None:
    assert lines_of(ROOT / "signalling" / "sockets" / "lobby.py") < LOBBY_MAX_LINES


def test_only_the_notifier_sends_socket_events() -> None:
    """Every event leaves through one place, typed (sockets/protocol.py): a module
    that calls ``emit`` itself would bypass both. The managers (below the notifier)
    emit only their news between nodes, to a namespace no client can join."""
    senders = []
    for path in modules():
        if path == NOTIFIER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SENDING
                and not (path == MANAGERS and to_control_namespace(node))
            ):
                senders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.attr}")
    assert senders == []


def to_control_namespace(call: ast.Call) -> bool:
    return any(
        keyword.arg == "namespace"
        and isinstance(keyword.value, ast.Name)
        and keyword.value.id == "CONTROL_NS"
        for keyword in call.keywords
    )


def test_the_notifier_does_send() -> None:
    """The rule above would pass vacuously if the notifier's calls were renamed."""
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(NOTIFIER.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert {"emit", "enter_room"} <= calls
