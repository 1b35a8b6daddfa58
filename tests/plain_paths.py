"""Reading without the plain paths: every object field by field.

Objects of the common shape are read straight from their mappings (`parse_common.plain_meta`,
`services_plain.plain_service`, `endpoints._plain_endpoint`, `endpoints._plain_slice_ports`,
`pods_plain.plain_pod` as `core` calls it, `policies_plain.plain_network_policy` as `policies` calls it);
anything else, field by field. Tests that
state how input is read run both ways, so that each way is held to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest.mock import patch

from netcompile.load import core, endpoints, parse_common, policies, services

PATHS = ("plain", "field by field")


@contextmanager
def field_by_field() -> Iterator[None]:
    """Every object read field by field, as one that the plain paths do not take."""
    with ExitStack() as stack:
        stack.enter_context(patch.object(parse_common, "plain_meta", lambda *args: None))
        stack.enter_context(patch.object(services, "plain_service", lambda *args: None))
        stack.enter_context(patch.object(endpoints, "_plain_endpoint", lambda *args: None))
        stack.enter_context(patch.object(endpoints, "_plain_slice_ports", lambda *args: None))
        stack.enter_context(patch.object(core, "plain_pod", lambda *args: None))
        stack.enter_context(patch.object(policies, "plain_network_policy", lambda *args: None))
        yield


@contextmanager
def reading(path: str) -> Iterator[None]:
    """Read by `path` (one of PATHS)."""
    if path == PATHS[0]:
        yield
    else:
        with field_by_field():
            yield
