"""A destination's ``transform``: the operator's Python function that rewrites or drops an event.

Named in the destinations file as ``"package.module:function"`` and imported once at start (the
working directory is on the path, as for the worker's handler modules). It is called in the
destination's sender thread before each attempt with a ``ForwardedEvent`` and returns the body to
send (``bytes``, ``str``, or anything JSON can encode), or ``None`` to drop the event for that
destination (recorded as ``dropped``, never sent). What it raises fails the attempt, retried like
any other, with the exception in the history. It must be quick and must not block: the thread
cannot abort Python code, so a transform that hangs holds one of the destination's threads.
"""

from __future__ import annotations

import importlib
import json
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from webhook_server.destinations_file import VARIABLE, DestinationSpec
from webhook_server.errors import ConfigError


@dataclass(frozen=True)
class ForwardedEvent:
    """What a transform sees of a stored event."""

    scheme: str
    event_id: str
    event_type: str
    endpoint: str
    headers: Mapping[str, object] = field(repr=False)
    body: bytes = field(repr=False)

    @cached_property
    def payload(self) -> Any:
        """The body parsed as JSON, as the sender sent it."""
        return json.loads(self.body)


Transform = Callable[[ForwardedEvent], object]


def load(spec: DestinationSpec) -> Transform | None:
    """The destination's transform function, imported now; ConfigError says what is wrong with the name."""
    if spec.transform is None:
        return None
    module_name, _, function_name = spec.transform.partition(":")
    problem = f"destination {spec.name!r}: transform {spec.transform!r}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import runs the operator's code: whatever it raises stops the start
        raise ConfigError(VARIABLE, f"{problem} cannot be imported ({type(exc).__name__}: {exc})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(VARIABLE, f"{problem}: {module_name} has no function {function_name}")
    return function  # type: ignore[no-any-return]


def described(error: BaseException) -> str:
    """``Type: message (file:line in function)`` of where the transform raised, for the history."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"


def apply(transform: Transform, event: ForwardedEvent) -> bytes | None:
    """The body the transform returned, as bytes; None when it dropped the event."""
    body = transform(event)
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
