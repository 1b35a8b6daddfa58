"""Types of the C readers (netcompile/load/_fastyaml.c: the module; _fastyaml_yaml.c, _fastyaml_json.c)."""

from typing import Any

def documents(
    text: str,
    file: str,
    first_line: int,
    max_depth: int,
    ymap: type[Any],
    ylist: type[Any],
    known: dict[str, object],
    starts: str = ...,
    max_known: int = ...,
    max_text: int = ...,
    /,
) -> tuple[list[Any], list[tuple[Any, Any, str]]] | None: ...
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
