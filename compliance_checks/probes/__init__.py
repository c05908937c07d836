"""Active probes of the running portal (live audit).

Each probe observes what a visitor or an outsider sees and returns inventory
records of type ``Probe/tls``, ``Probe/http``, ``Probe/browser`` or
``Probe/reachability``; the probe checks (``compliance_checks/checks/probe_*``)
judge them like any other resource. A probe that cannot observe returns a
record with ``error`` set: an ERROR finding, never a PASS.
"""
