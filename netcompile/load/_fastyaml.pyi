"""Types of the C reader (netcompile/_fastyaml.c)."""

from collections.abc import Callable
from typing import Any

def documents(
    text: str,
    file: str,
    first_line: int,
    max_depth: int,
    ymap: type[Any],
    ylist: type[Any],
    plain_values: dict[str, object],
    plain_value: Callable[[str], object],
    slow: object,
    /,
) -> list[Any] | None: ...
def nesting(text: str, max_depth: int, stop: int, /) -> tuple[int | None, int | None, bool]: ...
def json_documents(
    text: str,
    file: str,
    first_line: int,
    max_depth: int,
    ymap: type[Any],
    ylist: type[Any],
    /,
) -> tuple[list[tuple[Any, int, bool]], list[tuple[int, int, str, int]], tuple[int, int, str] | None]: ...
