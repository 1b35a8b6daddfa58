"""Code review: what a change to the manifests does (`netcompile diff`), and one object explained
(`netcompile explain`).

    sides.py     the two versions: paths as given, or at a Git revision (`git archive`, the work tree untouched)
    reach.py     who reaches whom by workload and port, each version's matrix by classes (analysis/), compared
    services.py  each Service frontend's decision for a pod, the node and an outside client, compared
    report.py    the review: the semantic diff, then the ruleset diff per node; text, Markdown, JSON
    html.py      the picture: the matrix by workload and port, the changes outlined (self-contained HTML)
    explain.py   a pod, workload or Service: the policies selecting it and their rules in words, Services
"""
