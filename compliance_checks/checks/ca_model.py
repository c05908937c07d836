"""The Conditional Access model the Entra checks ask their questions of (shared, not a check itself).

Every group's membership is left open: Entra groups change without a
deployment, so a promise about "the developers" must hold for whoever is in
the group, not only for today's members (a policy that names today's members
one by one, or a group that is empty today, keeps nothing for tomorrow's).
A user may be in any combination of groups. Users a question names get their
own cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from compliance_checks.evaluate import conditional_access as ca
from compliance_checks.inventory import Inventory


def open_membership_model(inventory: Inventory, apps: Iterable[str], users: Iterable[str] = ()) -> ca.Model:
    """The tenant's policies and named locations for sign-ins to ``apps``, no group's member list assumed."""
    policies = [(p.name, p.folded) for p in inventory.of_type(ca.POLICY_TYPE)]
    locations = {str(loc.get("id")).lower(): loc.folded for loc in inventory.of_type(ca.LOCATION_TYPE)}
    return ca.build(policies, locations=locations, members={}, apps=list(apps), users=users)
