"""Shortcuts of the loader against the plain definitions they stand for.

- `source._has_directive` answers what a multiline regex search for `^%` answers (whether a text is cut
  into pieces depends on it);
- a name claimed twice is an error at the second object's metadata naming where the first is defined,
  the same object read twice (a file given twice) is not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netcompile.errors import InputError
from netcompile.load import source
from netcompile.load.manifests import load


@given(st.text(st.sampled_from("%\n\r a-")))
def test_a_directive_is_a_line_starting_with_percent(text: str) -> None:
    assert source._has_directive(text) == bool(re.search("^%", text, re.MULTILINE))


def test_a_name_claimed_twice(tmp_path: Path) -> None:
    pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
    (tmp_path / "a.yaml").write_text(pod)
    (tmp_path / "b.yaml").write_text("# another\n" + pod)
    with pytest.raises(InputError) as raised:
        load([str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")])
    assert [str(d) for d in raised.value.diagnostics] == [
        f'{tmp_path}/b.yaml:5:3: Pod "default/web": metadata.name: Duplicate value: "web": already defined at'
        f" {tmp_path}/a.yaml:1:1"
    ]
    objects = load([str(tmp_path / "a.yaml"), str(tmp_path / "a.yaml")])  # the same object, read twice
    assert [pod.meta.key for pod in objects.pods] == ["default/web", "default/web"]
