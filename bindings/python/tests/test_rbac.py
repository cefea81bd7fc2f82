"""The core's authorization policy, through the binding."""

import stackbill

D1 = {"distributor": "d1"}
P1 = {"distributor": "d1", "partner": "p1"}
T1 = {"distributor": "d1", "partner": "p1", "tenant": "t1"}
T9 = {"distributor": "d2", "partner": "p9", "tenant": "t9"}


def test_branches_and_levels():
    assert stackbill.can("PartnerAdministrator", P1, "update", T1)
    assert not stackbill.can("PartnerAdministrator", P1, "update", P1)
    assert not stackbill.can("PartnerAdministrator", P1, "read", T9)
    assert stackbill.can("PlatformReader", {}, "read_audit", {})
    assert not stackbill.can("PlatformReader", {}, "manage_settings", {})
    assert set(stackbill.ROLES) >= {"TenantUser", "PlatformService"}
    assert "manage_billing" in stackbill.ACTIONS


def test_governance_switches():
    assert stackbill.can("PartnerAdministrator", P1, "create", P1)
    assert not stackbill.can("PartnerAdministrator", P1, "create", P1,
                             {"partner_tenant_self_provisioning": False})
    assert stackbill.can("TenantUser", T1, "use_estimator", T1, {"calculator_tenants": True})


def test_grants():
    assert stackbill.can_grant("PartnerAdministrator", P1, "TenantAdministrator", T1)
    assert not stackbill.can_grant("PartnerAdministrator", P1, "DistributorAdministrator", D1)


def test_every_listed_name_is_accepted():
    # The lists come from the core; each name must be one the policy takes.
    assert len(stackbill.GOVERNANCE_SWITCHES) == 11
    for switch in stackbill.GOVERNANCE_SWITCHES:
        assert isinstance(stackbill.can("TenantUser", T1, "read", T1, {switch: False}), bool)
    for action in stackbill.ACTIONS:
        assert isinstance(stackbill.can("PlatformAdministrator", {}, action, {}), bool)
    for role in stackbill.ROLES:
        assert isinstance(stackbill.can_grant("PlatformAdministrator", {}, role, T1), bool)
