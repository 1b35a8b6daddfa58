"""The lab: a test machine built from network namespaces, proving a compiled ruleset with real packets.

    plan.py      who and what is where (nodes, pods, clients, names, addresses): pure data
    topology.py  namespaces, veths, bridge, addresses, routes, sysctls (iproute2); teardown
    servers.py   one tiny server per pod, on every port it declares (agent.py, inside the namespace)
    probes.py    the full matrix or the --expect expectations; run in parallel (agent.py)
    expected.py  what each probe should see: the reference's journey across the nodes (journeys.py, as
                 trace's), routed through the lab's namespaces, seen as the prober sees it
    control.py   the positive control of drops (the same probes, the rulesets without NetworkPolicies)
    run.py       orchestration (the pipeline: complete, compile every node), comparison, report

See docs/lab.md.
"""

from .run import LabOptions, LabReport, run_lab

__all__ = ["LabOptions", "LabReport", "run_lab"]
