from tests.conftest import CompileYaml


def test_cluster_ip_without_endpoints_is_rejected(compile_yaml: CompileYaml) -> None:
    _, out = compile_yaml(
        """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          clusterIP: 10.96.0.10
          ports: [{port: 80}]
        """
    )
    assert '10.96.0.10 . tcp . 80 comment "default/web:80" : goto service-reject' in out.text
