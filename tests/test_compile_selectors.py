"""The policy compiler's pods of a selector (`peers.Peers.pods_in`: through a label index, a fast way for
selectors of matchLabels alone) are those `index.selector_matches` picks, in the namespace's order."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.compile.index import Cluster, selector_matches
from netcompile.compile.peers import Peers
from netcompile.compile.reuse import PolicyReuse
from netcompile.load.manifests import load
from netcompile.model.selectors import LabelSelector, Operator, Requirement
from netcompile.pipeline import complete

KEYS = ("app", "tier", "team")
VALUES = ("a", "b", "c")
NAMESPACES = ("default", "other")

label_sets = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)
requirements = st.builds(
    Requirement,
    st.sampled_from(KEYS),
    st.sampled_from(list(Operator)),
    st.frozensets(st.sampled_from(VALUES), min_size=1, max_size=2),
).map(lambda r: r if r.operator in (Operator.IN, Operator.NOT_IN) else Requirement(r.key, r.operator, frozenset()))
selectors = st.builds(
    LabelSelector,
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3).map(lambda d: tuple(sorted(d.items()))),
    st.lists(requirements, max_size=2).map(tuple),
)


def pod(index: int, namespace: str, labels: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{index}", "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
        "status": {"phase": "Running", "podIP": f"10.0.0.{index + 1}"},
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(NAMESPACES), label_sets), max_size=12),
    st.lists(st.tuples(st.sampled_from(NAMESPACES), selectors), min_size=1, max_size=6),
)
def test_pods_in_is_the_pods_the_selector_matches(
    given_pods: list[tuple[str, dict[str, str]]], asked: list[tuple[str, LabelSelector]]
) -> None:
    docs = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [pod(i, ns, labels) for i, (ns, labels) in enumerate(given_pods)],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pods.json"
        path.write_text(json.dumps(docs))
        cluster = Cluster(complete(load([str(path)])))
    peers = Peers(cluster, PolicyReuse())
    for _ in range(2):  # computed, then kept
        for namespace, selector in asked:
            expected = [
                p for p in cluster.pods_by_ns.get(namespace, []) if selector_matches(selector, p.meta.label_dict())
            ]
            assert peers.pods_in(namespace, selector) == expected
