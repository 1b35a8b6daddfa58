"""`references._Pods.select` asks a selector once per distinct label set of a namespace: it picks the same
members, in the same order, as asking it of every pod and pod template does."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netcompile.errors import Position
from netcompile.load.references import _Pods, _selects
from netcompile.model import Labels, Meta, Objects, Pod
from netcompile.model.selectors import LabelSelector, Operator, Requirement
from netcompile.model.workloads import PodTemplate, Workload

NAMESPACES = st.sampled_from(["a", "b", "c"])
LABELS = st.dictionaries(st.sampled_from(["app", "tier", "env"]), st.sampled_from(["x", "y", "z"]), max_size=3).map(
    lambda labels: tuple(sorted(labels.items()))
)
HERE = Position("t.yaml", 1, 1)


def _pod(index: int, namespace: str, labels: Labels) -> Pod:
    meta = Meta("Pod", namespace, f"p{index}", labels, HERE)
    return Pod(meta, None, False, "Running", (), (), False, True)


def _workload(index: int, namespace: str, labels: Labels) -> Workload:
    meta = Meta("Deployment", namespace, f"w{index}", (), HERE)
    template = PodTemplate(labels, False, None, (), (), 0)
    return Workload(meta, (), None, template, 1)


SELECTORS = st.builds(
    LabelSelector,
    LABELS,
    st.lists(
        st.builds(
            Requirement,
            st.sampled_from(["app", "tier", "env"]),
            st.sampled_from(list(Operator)),
            st.frozensets(st.sampled_from(["x", "y", "z"]), max_size=2),
        ),
        max_size=2,
    ).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(NAMESPACES, LABELS), max_size=12),
    st.lists(st.tuples(NAMESPACES, LABELS), max_size=4),
    st.lists(st.tuples(NAMESPACES, SELECTORS), min_size=1, max_size=6),
)
def test_selection_by_label_sets_is_selection_pod_by_pod(
    pods: list[tuple[str, Labels]],
    workloads: list[tuple[str, Labels]],
    asked: list[tuple[str, LabelSelector]],
) -> None:
    objects = Objects(
        pods=tuple(_pod(i, ns, labels) for i, (ns, labels) in enumerate(pods)),
        workloads=tuple(_workload(i, ns, labels) for i, (ns, labels) in enumerate(workloads)),
    )
    index = _Pods(objects)
    members = [(p.meta.namespace, p.meta.key, p.meta.labels) for p in objects.pods]
    members += [
        (w.meta.namespace, f"{w.meta.namespace}/Deployment/{w.meta.name}", w.template.labels) for w in objects.workloads
    ]
    for namespace, selector in asked:
        expected = [key for ns, key, labels in members if ns == namespace and _selects(selector, dict(labels))]
        assert [p.key for p in index.select(namespace, selector)] == expected
        assert index.select(namespace, selector) is index.select(namespace, selector)  # remembered
    assert [p.key for p in index.all] == [
        key for ns in dict.fromkeys(ns for ns, _, _ in members) for n, key, _ in members if n == ns
    ]
