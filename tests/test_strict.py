"""Never silently wrong in loading (issue 13, points 1, 2 and 6).

Strict fields against the Kubernetes OpenAPI schema (an unknown or misspelled field is an error, as the
API server's strict field validation), unknown kinds of the API groups netcompile reads, one summary of
the kinds skipped, null list items as the API server decodes them, typed lists, and files in the input
folders that are not manifests. Every case reproduced on the old main (exit 0, a policy that means
something else) is here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcompile.cli import app
from netcompile.compile.compiler import CompileOptions
from netcompile.errors import InputError
from netcompile.load.manifests import KINDS, ParseOptions, load
from netcompile.load.schema import kind_table, kinds_of, schema
from netcompile.model import NetworkPolicy, Objects, PolicyPort, PolicyRule, Protocol
from netcompile.model.selectors import LabelSelector
from netcompile.pipeline import compile_paths
from tests.conftest import WriteYaml

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: web}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: client}}
"""


def errors_of(directory: Path, validate: str = "strict") -> list[str]:
    with pytest.raises(InputError) as info:
        load([str(directory)], opts=ParseOptions(validate=validate))
    return [str(d) for d in info.value.diagnostics]


def policy(objects: Objects) -> NetworkPolicy:
    (only,) = objects.network_policies
    return only


# --- 1. strict fields ---------------------------------------------------------------------------------


def test_the_policy_reads_as_written(write_yaml: WriteYaml) -> None:
    """The baseline of the typos below: this policy selects app=web, and allows ingress from app=client."""
    p = policy(load([str(write_yaml(POLICY))]))
    assert p.pod_selector == LabelSelector((("app", "web"),))
    assert len(p.ingress) == 1


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        (  # on the old main: exit 0, and the policy selected every pod of the namespace
            ("matchLabels: {app: web}", "matchLabel: {app: web}"),
            '6:17: NetworkPolicy "shop/web": spec.podSelector.matchLabel: unknown field "matchLabel", '
            'did you mean "matchLabels"?',
        ),
        (
            ("  podSelector:\n    matchLabels", "  podSelecter:\n    matchLabels"),
            '6:5: NetworkPolicy "shop/web": spec.podSelecter: unknown field "podSelecter", did you mean "podSelector"?',
        ),
        (  # on the old main: an allow policy became deny-all
            ("  ingress:", "  ingres:"),
            '8:3: NetworkPolicy "shop/web": spec.ingres: unknown field "ingres", did you mean "ingress"?',
        ),
        (
            ("    - podSelector: {matchLabels: {app: client}}", "    - podselector: {matchLabels: {app: client}}"),
            '9:20: NetworkPolicy "shop/web": spec.ingress[0].from[0].podselector: unknown field "podselector", '
            'did you mean "podSelector"?',
        ),
        (
            ("metadata: {name: web,", "metadata: {nmae: web,"),
            '3:18: NetworkPolicy: metadata.nmae: unknown field "nmae", did you mean "name"?',
        ),
        (  # no close match: no suggestion
            ("spec:\n", "spec:\n  colour: blue\n"),
            '5:11: NetworkPolicy "shop/web": spec.colour: unknown field "colour"',
        ),
    ],
)
def test_a_misspelled_field_is_an_error_with_its_place(
    write_yaml: WriteYaml, typo: tuple[str, str], expected: str
) -> None:
    text = POLICY.replace(*typo)
    assert text != POLICY
    d = write_yaml(text)
    assert f"{d}/input.yaml:{expected}" in errors_of(d)


def test_every_error_at_once_and_nothing_compiled(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        POLICY.replace("matchLabels: {app: web}", "matchLabel: {app: web}").replace("ingress:", "ingres:")
        + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: shop}\n"
        "spec: {ports: [{port: 80, targetport: 8080}]}\n"
    )
    errors = errors_of(d)
    assert [e.split(": ", 3)[2] for e in errors] == [
        "spec.podSelector.matchLabel",
        "spec.ingres",
        "spec.ports[0].targetport",
    ]
    assert errors[2].endswith('unknown field "targetport", did you mean "targetPort"?')
    with pytest.raises(InputError):
        compile_paths([str(d)], CompileOptions())


def test_fields_of_the_api_that_netcompile_ignores_are_accepted(write_yaml: WriteYaml) -> None:
    """A `kubectl get -o yaml` dump: status, managedFields, images, resources, probes, volumes,
    annotations and labels of any key, ownerReferences, tolerations, affinity..."""
    d = write_yaml(
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-1
          namespace: shop
          labels: {app: web, "example.com/any-key": x}
          annotations: {"kubectl.kubernetes.io/last-applied-configuration": "{}", anything: goes}
          creationTimestamp: "2024-05-01T10:00:00Z"
          generateName: web-
          ownerReferences:
          - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5c7f9, uid: u, controller: true, blockOwnerDeletion: true}
          managedFields:
          - manager: kubectl
            operation: Update
            fieldsType: FieldsV1
            fieldsV1: {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"any": {"thing": 1}}}
        spec:
          nodeName: node-a
          containers:
          - name: web
            image: nginx:1.27
            imagePullPolicy: IfNotPresent
            args: [--port, "80"]
            env: [{name: A, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
            ports: [{name: http, containerPort: 80, protocol: TCP}]
            resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 0.1}}
            readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 5}
            livenessProbe: {tcpSocket: {port: 80}}
            securityContext: {runAsNonRoot: true, capabilities: {drop: [ALL]}}
            volumeMounts: [{name: data, mountPath: /data}]
          volumes: [{name: data, emptyDir: {}}]
          tolerations: [{key: k, operator: Exists, effect: NoSchedule}]
          affinity:
            podAntiAffinity:
              preferredDuringSchedulingIgnoredDuringExecution:
              - weight: 1
                podAffinityTerm: {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
          nodeSelector: {"kubernetes.io/os": linux}
          overhead: {cpu: 10m}
        status:
          phase: Running
          hostIP: 192.0.2.1
          podIP: 10.244.0.5
          podIPs: [{ip: 10.244.0.5}]
          qosClass: Burstable
          startTime: "2024-05-01T10:00:00Z"
          conditions: [{type: Ready, status: "True", lastTransitionTime: "2024-05-01T10:00:00Z"}]
          containerStatuses:
          - {name: web, ready: true, restartCount: 0, image: nginx:1.27, imageID: x, started: true,
             state: {running: {startedAt: "2024-05-01T10:00:00Z"}}, lastState: {}}
        """
    )
    objects = load([str(d)])
    assert [p.meta.name for p in objects.pods] == ["web-1"]
    assert objects.warnings == ()


def test_a_typo_deep_inside_a_field_netcompile_ignores_is_still_found(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web-1}
        spec:
          containers:
          - name: web
            readinessProbe: {httpGet: {path: /, prot: 80}}
        """
    )
    assert errors_of(d) == [
        f'{d}/input.yaml:8:47: Pod "default/web-1": spec.containers[0].readinessProbe.httpGet.prot: '
        'unknown field "prot", did you mean "port"?'
    ]


def test_validate_warn_and_ignore(write_yaml: WriteYaml) -> None:
    """As kubectl's --validate: warn lets the object through with a warning (the field is ignored, as the
    API server would), ignore says nothing."""
    d = write_yaml(POLICY.replace("  ingress:", "  colour: blue\n  ingress:"))
    assert errors_of(d) == [f'{d}/input.yaml:7:11: NetworkPolicy "shop/web": spec.colour: unknown field "colour"']
    warned = load([str(d)], opts=ParseOptions(validate="warn"))
    assert warned.warnings == (f'{d}/input.yaml:7:11: NetworkPolicy "shop/web": spec.colour: unknown field "colour"',)
    assert len(policy(warned).ingress) == 1
    ignored = load([str(d)], opts=ParseOptions(validate="ignore"))
    assert ignored.warnings == () and ignored.notices == ()
    assert policy(ignored) == policy(warned)


def test_every_kind_netcompile_compiles_has_its_fields_in_the_schema() -> None:
    for kind, (version, _) in KINDS.items():
        table = kind_table(version, kind)
        assert table is not None, kind
        assert {"apiVersion", "kind", "metadata"} <= set(table.fields), kind
    for version, kind in [
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ReplicaSet"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("v1", "ReplicationController"),
        ("v1", "PodList"),
        ("apps/v1", "DeploymentList"),
    ]:
        assert kind_table(version, kind) is not None, kind
    assert schema().kubernetes.startswith("v1.")
    folder = Path(__file__).parent.parent / "netcompile" / "load" / "schema"
    data = json.loads(next(p for p in folder.glob("k8s-v*.json")).read_text())
    assert data["kubernetes"] == schema().kubernetes
    assert "kubernetes-validate" in data["source"] or "swagger" in data["source"]


# --- 2. kinds ---------------------------------------------------------------------------------------------


def test_an_unknown_kind_of_a_group_netcompile_reads_is_an_error(write_yaml: WriteYaml) -> None:
    """On the old main: one "skipping" notice among many, exit 0, and the policy was gone."""
    d = write_yaml(POLICY.replace("kind: NetworkPolicy", "kind: NetworkPolicey"))
    assert errors_of(d) == [
        f'{d}/input.yaml:2:7: NetworkPolicey "shop/web": no matches for kind "NetworkPolicey" in version '
        '"networking.k8s.io/v1", did you mean "NetworkPolicy"?'
    ]


@pytest.mark.parametrize(
    ("api_version", "kind", "suggestion"),
    [
        ("v1", "service", "Service"),
        ("v1", "Pods", "Pod"),
        ("v1", "Configmap", "ConfigMap"),
        ("discovery.k8s.io/v1", "EndpointSlices", "EndpointSlice"),
        ("apps/v1", "Deploymnet", "Deployment"),
        ("batch/v1", "CronJobs", "CronJob"),
        ("v1", "Frobnicator", None),
    ],
)
def test_unknown_kinds_as_the_api_server_says(
    write_yaml: WriteYaml, api_version: str, kind: str, suggestion: str | None
) -> None:
    d = write_yaml(f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x}}\n")
    (error,) = errors_of(d)
    expected = f'no matches for kind "{kind}" in version "{api_version}"'
    assert error.endswith(expected + (f', did you mean "{suggestion}"?' if suggestion else ""))


def test_other_kinds_are_skipped_with_one_summary(write_yaml: WriteYaml) -> None:
    docs = (
        [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{a: b}}\n" for i in range(3)]
        + ["apiVersion: apps/v1\nkind: ControllerRevision\nmetadata: {name: d}\ndata: {whatever: 1}\n"]
        + [f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {{name: c{i}}}\n" for i in range(2)]
        + [
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
            "apiVersion: apps/v1beta1\nkind: ControllerRevision\n",
        ]
        + ["apiVersion: example.com/v1\nkind: Widget\n"]
    )
    objects = load([str(write_yaml("---\n".join([POLICY, *docs])))])
    assert len(objects.network_policies) == 1
    assert objects.notices == (
        "skipped 9 objects of 6 kinds netcompile does not read: ConfigMap (3), Certificate.cert-manager.io (2), "
        "ControllerRevision (1), ControllerRevision.apps (1), Secret (1), Widget.example.com (1)",
    )


def test_every_kind_of_the_groups_netcompile_reads_is_known() -> None:
    core = kinds_of("v1")
    assert core is not None and {"ConfigMap", "Secret", "Pod", "List", "ServiceAccount"} <= set(core)
    assert kinds_of("example.com/v1") is None
    for version in ("apps/v1", "batch/v1", "networking.k8s.io/v1", "discovery.k8s.io/v1"):
        assert kinds_of(version)


# --- 6. input shapes ------------------------------------------------------------------------------------


def test_a_null_ingress_rule_is_an_empty_rule_that_allows_everything(write_yaml: WriteYaml) -> None:
    """On the old main the bare `-` was dropped: the pod was isolated with no rule (deny all)."""
    text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector: {}\n"
    p = policy(load([str(write_yaml(text + "  ingress:\n  -\n"))]))
    assert p.ingress == (PolicyRule(None, None),)
    assert p == policy(load([str(write_yaml(text + "  ingress:\n  - {}\n"))]))


def test_a_null_policy_port_is_every_tcp_port(write_yaml: WriteYaml) -> None:
    """On the old main the bare `-` was dropped, and `ports` with no item allowed UDP too."""
    text = POLICY + "    ports:\n    -\n"
    (rule,) = policy(load([str(write_yaml(text))])).ingress
    assert rule.ports == (PolicyPort(Protocol.TCP, None, None),)


def test_a_null_peer_must_specify_a_peer(write_yaml: WriteYaml) -> None:
    """On the old main the bare `-` was dropped, and the rule allowed every source."""
    d = write_yaml(POLICY.replace("    - podSelector: {matchLabels: {app: client}}", "    -"))
    assert errors_of(d) == [
        f'{d}/input.yaml:9:6: NetworkPolicy "shop/web": spec.ingress[0].from[0]: Required value: must specify a peer'
    ]


# A null item, and the same list with an empty object: the API server decodes the first as the second.
NULL_ITEMS = [
    (
        "Service",
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - %s\n",
        "spec.ports[0].port: Required value",
    ),
    ("Pod containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - %s\n", None),
    (
        "Pod container ports",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    ports:\n    - %s\n",
        "spec.containers[0].ports[0].containerPort: Required value",
    ),
    (
        "Pod podIPs",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  podIPs:\n  - %s\n",
        "status.podIPs[0].ip: Required value",
    ),
    ("Pod conditions", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nstatus:\n  conditions:\n  - %s\n", None),
    (
        "Node addresses",
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n  addresses:\n  - %s\n",
        "status.addresses[0].type: Required value",
    ),
    (
        "EndpointSlice endpoints",
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv4\n"
        "endpoints:\n- %s\n",
        "endpoints[0].addresses: Required value",
    ),
    (
        "EndpointSlice ports",
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\naddressType: IPv4\nports:\n- %s\n",
        None,  # a slice port without a number is valid (tests/api_rule_rows.py)
    ),
    (
        "Endpoints subsets",
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets:\n- %s\n",
        "subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`",
    ),
    (
        "Endpoints addresses",
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets:\n- addresses:\n  - %s\n",
        "subsets[0].addresses[0].ip: Required value",
    ),
    (
        "NetworkPolicy egress",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  egress:\n  - %s\n",
        None,
    ),
    (
        "NetworkPolicy to",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  egress:\n  - to:\n"
        "    - %s\n",
        "spec.egress[0].to[0]: Required value: must specify a peer",
    ),
    (
        "NetworkPolicy egress ports",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  egress:\n  - ports:\n"
        "    - %s\n",
        None,
    ),
    (
        "matchExpressions",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector:\n"
        "    matchExpressions:\n    - %s\n",
        "spec.podSelector.matchExpressions[0].key: Required value",
    ),
]


@pytest.mark.parametrize(("what", "text", "error"), NULL_ITEMS, ids=[n[0] for n in NULL_ITEMS])
def test_a_null_list_item_is_an_empty_object(write_yaml: WriteYaml, what: str, text: str, error: str | None) -> None:
    from_null = _outcome(write_yaml(text % ""))
    assert from_null == _outcome(write_yaml(text % "{}"))
    if error is None:
        assert isinstance(from_null, str)
    else:
        assert any(e.startswith(error) for e in from_null), from_null


def _outcome(directory: Path) -> str | list[str]:
    """The objects read (as text), or the messages without their positions."""
    try:
        return repr(load([str(directory)]))
    except InputError as exc:
        return sorted(str(d).split(": ", 2)[2] for d in exc.diagnostics)


@pytest.mark.parametrize(
    ("field", "text", "error"),
    [
        (
            "policyTypes",
            "spec:\n  policyTypes:\n  -\n",
            'spec.policyTypes[0]: Unsupported value: "": supported values: "Ingress", "Egress"',
        ),
        ("ipFamilies", None, 'spec.ipFamilies[0]: Unsupported value: "": supported values: "IPv4", "IPv6"'),
    ],
)
def test_a_null_string_item_is_the_empty_string(
    write_yaml: WriteYaml, field: str, text: str | None, error: str
) -> None:
    if text is None:
        d = write_yaml(
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80}]\n  ipFamilies:\n  -\n"
        )
    else:
        d = write_yaml("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\n" + text)
    (message,) = errors_of(d)
    assert message.endswith(error)


def test_a_null_selector_value_is_the_empty_string(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n  podSelector:\n"
        "    matchExpressions:\n    - {key: app, operator: In, values: [null]}\n"
    )
    (requirement,) = policy(load([str(d)])).pod_selector.match_expressions
    assert requirement.values == frozenset({""})


def test_typed_lists_as_the_api_returns_them(write_yaml: WriteYaml) -> None:
    """`kubectl get pods -o yaml` of one kind: `kind: PodList`, items without apiVersion and kind. On the
    old main: two errors per item."""
    d = write_yaml(
        """
        apiVersion: v1
        kind: PodList
        metadata: {resourceVersion: "1"}
        items:
        - metadata: {name: a, namespace: shop}
          status: {podIP: 10.244.0.5}
        - metadata: {name: b, namespace: shop}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicyList
        items:
        - metadata: {name: p, namespace: shop}
          spec: {podSelector: {}}
        ---
        apiVersion: v1
        kind: ConfigMapList
        items:
        - metadata: {name: c}
        """
    )
    objects = load([str(d)])
    assert [p.meta.key for p in objects.pods] == ["shop/a", "shop/b"]
    assert [p.meta.key for p in objects.network_policies] == ["shop/p"]
    assert objects.notices == ("skipped 1 object of 1 kind netcompile does not read: ConfigMap (1)",)


def test_typed_lists_are_checked_too(write_yaml: WriteYaml) -> None:
    d = write_yaml(
        """
        apiVersion: v1
        kind: PodList
        metdata: {}
        items:
        - metadata: {name: a}
          spec: {nodname: node-a}
        ---
        apiVersion: v1
        kind: PodLis
        items: []
        ---
        apiVersion: v1
        kind: Lst
        items: []
        """
    )
    assert errors_of(d) == [
        f'{d}/input.yaml:4:10: PodList: metdata: unknown field "metdata", did you mean "metadata"?',
        f'{d}/input.yaml:7:19: Pod "default/a": spec.nodname: unknown field "nodname", did you mean "nodeName"?',
        f'{d}/input.yaml:10:7: PodLis: no matches for kind "PodLis" in version "v1", did you mean "PodList"?',
        f'{d}/input.yaml:14:7: Lst: no matches for kind "Lst" in version "v1", did you mean "List"?',
    ]


def test_files_that_are_not_manifests_are_skipped_with_a_notice(write_yaml: WriteYaml) -> None:
    """A lab's expectations as a JSON array, or any mapping that is no object, beside the manifests: on the
    old main, `compile` failed on them."""
    d = write_yaml(POLICY)
    (d / "expect.json").write_text(json.dumps([{"from": "shop/a", "to": "shop/b", "expect": "allow"}]))
    (d / "list.yaml").write_text("# expectations\n- {from: a, to: b}\n")
    (d / "settings.yaml").write_text("colour: blue\nsize: 3\n")
    objects = load([str(d)])
    assert len(objects.network_policies) == 1
    assert objects.notices == (
        f"{d}/expect.json:1:1: skipping a document that is a list, not a Kubernetes object",
        f"{d}/list.yaml:2:1: skipping a document that is a list, not a Kubernetes object",
        f"{d}/settings.yaml:1:1: skipping a document that is not a Kubernetes object (no apiVersion, kind or metadata)",
    )
    (_, output) = compile_paths([str(d)], CompileOptions())
    assert "table inet netcompile" in output.text


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("kind: Pod\nmetadata: {name: p}\n", "apiVersion: Required value"),
        ("apiVersion: v1\nmetadata: {name: p}\n", "kind: Required value"),
        ("metadata: {name: p}\n", "apiVersion: Required value"),
        ("just a string\n", "document is not a mapping (a Kubernetes object)"),
    ],
)
def test_half_a_manifest_stays_an_error(write_yaml: WriteYaml, text: str, error: str) -> None:
    errors = errors_of(write_yaml(text))
    assert any(error in e for e in errors), errors


# --- the command line -----------------------------------------------------------------------------------


def test_compile_refuses_a_typo_with_exit_2_and_writes_nothing(write_yaml: WriteYaml, tmp_path: Path) -> None:
    d = write_yaml(POLICY.replace("matchLabels: {app: web}", "matchLabel: {app: web}"))
    out = tmp_path / "out" / "ruleset.nft"
    result = CliRunner().invoke(app, ["compile", str(d), "-o", str(out)])
    assert result.exit_code == 2
    assert not out.exists()
    assert result.stderr.splitlines() == [
        f'{d}/input.yaml:6:17: NetworkPolicy "shop/web": spec.podSelector.matchLabel: unknown field "matchLabel", '
        'did you mean "matchLabels"?',
        "netcompile: 1 error in the input; nothing was written",
    ]


@pytest.mark.parametrize(
    "verb", [["compile"], ["matrix"], ["trace", "--from", "1.2.3.4", "--to", "5.6.7.8", "--port", "80"]]
)
def test_validate_on_every_verb_that_reads_manifests(write_yaml: WriteYaml, verb: list[str]) -> None:
    d = write_yaml(POLICY.replace("  ingress:", "  colour: blue\n  ingress:"))
    strict = CliRunner().invoke(app, [*verb, str(d)])
    assert strict.exit_code == 2 and 'spec.colour: unknown field "colour"' in strict.stderr
    for mode in ("warn", "ignore", "false"):
        relaxed = CliRunner().invoke(app, [*verb, str(d), f"--validate={mode}"])
        assert relaxed.exit_code in (0, 1), relaxed.stderr  # 1: a finding of trace/matrix, not bad input
        warned = f'warning: {d}/input.yaml:7:11: NetworkPolicy "shop/web": spec.colour: unknown field "colour"'
        assert (warned in relaxed.stderr.splitlines()) == (mode == "warn"), relaxed.stderr
    bad = CliRunner().invoke(app, [*verb, str(d), "--validate=loose"])
    assert bad.exit_code == 2
    assert 'netcompile: --validate: Unsupported value: "loose"' in bad.stderr
