"""The lab: a test machine built from network namespaces, proving a compiled ruleset with real packets.

    plan.py      who and what is where (nodes, pods, clients, names, addresses): pure data
    topology.py  namespaces, veths, bridge, addresses, routes, sysctls (iproute2); teardown
    servers.py   one tiny server per pod, on every port it declares (agent.py, inside the namespace)
    probes.py    the full matrix or the --expect expectations; run in parallel (agent.py)
    expected.py  what the reference evaluator says each probe should see, node after node
    run.py       orchestration, comparison, report

See docs/lab.md.
"""

from .run import LabOptions, LabReport, run_lab

__all__ = ["LabOptions", "LabReport", "run_lab"]
