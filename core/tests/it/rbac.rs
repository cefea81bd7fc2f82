//! The authorization policy, exhaustively: every role × action × target position.
//!
//! The table is written out by hand from the manual's permission levels; the test checks
//! `can` against it cell by cell. Positions relative to the role's node:
//! `o` own node, `c` a child, `d` a subscription deep in the branch, `s` the same kind of
//! node in a sibling branch, `p` the parent. Platform roles have no sibling or parent.

use stackbill_core::rbac::{Action, Governance, NodePath, Role, Scope, can, can_grant};

fn root() -> NodePath {
    NodePath::platform()
}
fn d1() -> NodePath {
    NodePath::distributor("d1")
}
fn p1() -> NodePath {
    NodePath::partner("d1", "p1")
}
fn t1() -> NodePath {
    NodePath::tenant("d1", "p1", "t1")
}
fn s1() -> NodePath {
    NodePath::subscription("d1", "p1", "t1", "s1")
}

/// (scope node, [(position letter, target)]) for a role.
fn positions(role: Role) -> (NodePath, Vec<(char, NodePath)>) {
    use Role::*;
    match role {
        PlatformAdministrator | PlatformReader | PlatformService => {
            (root(), vec![('o', root()), ('c', d1()), ('d', s1())])
        }
        DistributorAdministrator | DistributorReader => (
            d1(),
            vec![
                ('o', d1()),
                ('c', p1()),
                ('d', s1()),
                ('s', NodePath::distributor("d2")),
                ('p', root()),
            ],
        ),
        PartnerAdministrator | PartnerReader => (
            p1(),
            vec![
                ('o', p1()),
                ('c', t1()),
                ('d', s1()),
                ('s', NodePath::partner("d1", "p2")),
                ('p', d1()),
            ],
        ),
        TenantAdministrator | TenantUser => (
            t1(),
            vec![
                ('o', t1()),
                ('c', s1()),
                ('d', s1()),
                ('s', NodePath::tenant("d1", "p1", "t2")),
                ('p', p1()),
            ],
        ),
    }
}

/// Allowed positions per action, roles in `Role::ALL` order:
/// PlatformAdministrator, PlatformReader, PlatformService, DistributorAdministrator,
/// DistributorReader, PartnerAdministrator, PartnerReader, TenantAdministrator, TenantUser.
const TABLE: &[(Action, [&str; 9])] = &[
    (
        Action::Read,
        [
            "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd",
        ],
    ),
    (Action::Create, ["oc", "", "", "oc", "", "oc", "", "o", ""]),
    (Action::Update, ["cd", "", "", "cd", "", "cd", "", "", ""]),
    (Action::Delete, ["cd", "", "", "cd", "", "cd", "", "", ""]),
    (
        Action::ReadUsers,
        ["oc", "oc", "oc", "oc", "", "oc", "", "o", "o"],
    ),
    (
        Action::CreateUser,
        ["oc", "", "", "oc", "", "oc", "", "o", ""],
    ),
    (
        Action::ManageUsers,
        ["oc", "", "", "oc", "", "oc", "", "o", ""],
    ),
    (
        Action::AssignRoles,
        ["oc", "", "", "oc", "", "oc", "", "o", ""],
    ),
    (
        Action::ReadUsage,
        [
            "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd",
        ],
    ),
    (Action::IngestUsage, ["o", "", "o", "", "", "", "", "", ""]),
    (
        Action::ProcessUsage,
        ["od", "", "od", "d", "", "d", "", "", ""],
    ),
    (
        Action::ReadBilling,
        [
            "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd", "ocd",
        ],
    ),
    (
        Action::ManageBilling,
        ["oc", "", "", "oc", "", "oc", "", "", ""],
    ),
    (
        Action::ReadCommissions,
        ["oc", "oc", "oc", "oc", "oc", "o", "o", "", ""],
    ),
    (
        Action::GenerateCommissions,
        ["oc", "", "", "oc", "", "o", "", "", ""],
    ),
    (
        Action::ManageCommissionRates,
        ["c", "", "", "c", "", "", "", "", ""],
    ),
    (
        Action::ReadPricing,
        ["ocd", "ocd", "ocd", "", "", "", "", "", ""],
    ),
    (
        Action::ManagePricing,
        ["ocd", "", "", "", "", "", "", "", ""],
    ),
    (
        Action::UseEstimator,
        ["d", "d", "d", "", "", "", "", "", ""],
    ),
    (
        Action::ReadPlans,
        [
            "ocd", "ocd", "ocd", "ocdsp", "ocdsp", "ocdsp", "ocdsp", "ocdsp", "ocdsp",
        ],
    ),
    (Action::ManagePlans, ["o", "", "", "", "", "", "", "", ""]),
    (Action::ReadRegions, ["o", "o", "o", "", "", "", "", "", ""]),
    (Action::ManageRegions, ["o", "", "", "", "", "", "", "", ""]),
    (
        Action::ReadSettings,
        ["o", "o", "o", "", "", "", "", "", ""],
    ),
    (
        Action::ManageSettings,
        ["o", "", "", "", "", "", "", "", ""],
    ),
    (Action::ReadAudit, ["o", "o", "o", "", "", "", "", "", ""]),
    (Action::ReadJobs, ["o", "o", "o", "", "", "", "", "", ""]),
];

#[test]
fn every_role_action_and_position() {
    assert_eq!(TABLE.len(), Action::ALL.len(), "every action has a row");
    for action in Action::ALL {
        assert!(
            TABLE.iter().any(|(a, _)| *a == action),
            "{action:?} has a row"
        );
    }
    let g = Governance::default();
    let mut cells = 0;
    let mut wrong = Vec::new();
    for (action, row) in TABLE {
        for (role, allowed) in Role::ALL.iter().zip(row) {
            let (node, targets) = positions(*role);
            let scope = Scope::new(*role, node).unwrap();
            for (letter, target) in targets {
                cells += 1;
                let want = allowed.contains(letter);
                if can(&scope, *action, &target, &g) != want {
                    wrong.push(format!("{role:?} {action:?} {letter}: expected {want}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, 27 * (3 * 3 + 6 * 5));
}

#[test]
fn lists_filter_by_scope_and_never_cross_branches() {
    let scope = Scope::new(Role::PartnerReader, p1()).unwrap();
    assert!(scope.contains(&t1()));
    assert!(scope.contains(&s1()));
    assert!(!scope.contains(&NodePath::tenant("d1", "p2", "t9")));
    assert!(!scope.contains(&d1()));
    // Same ids in another branch are another node.
    assert!(!scope.contains(&NodePath::tenant("d2", "p1", "t1")));
}

#[test]
fn scopes_must_match_the_role_level() {
    assert!(Scope::new(Role::PartnerAdministrator, t1()).is_err());
    assert!(Scope::new(Role::TenantUser, s1()).is_err());
    assert!(Scope::new(Role::PlatformReader, d1()).is_err());
    let bad_path = NodePath {
        tenant: Some("t1".into()),
        ..NodePath::default()
    };
    assert!(Scope::new(Role::TenantAdministrator, bad_path).is_err());
}

#[test]
fn settings_switches_take_effect() {
    let on = Governance::default();
    let off = Governance {
        partner_tenant_self_provisioning: false,
        distributor_tenant_self_provisioning: false,
        tenant_subscription_self_provisioning: false,
        partner_subscription_provisioning: false,
        distributor_subscription_provisioning: false,
        tenant_user_self_provisioning: false,
        partner_user_self_provisioning: false,
        distributor_user_self_provisioning: false,
        ..Governance::default()
    };
    let cases = [
        (Role::PartnerAdministrator, p1(), Action::Create, p1()),
        (Role::PartnerAdministrator, p1(), Action::Create, t1()),
        (Role::DistributorAdministrator, d1(), Action::Create, p1()),
        (Role::DistributorAdministrator, d1(), Action::Create, t1()),
        (Role::TenantAdministrator, t1(), Action::Create, t1()),
        (Role::TenantAdministrator, t1(), Action::CreateUser, t1()),
        (Role::PartnerAdministrator, p1(), Action::CreateUser, p1()),
        (
            Role::DistributorAdministrator,
            d1(),
            Action::CreateUser,
            d1(),
        ),
    ];
    for (role, node, action, target) in cases {
        let scope = Scope::new(role, node).unwrap();
        assert!(
            can(&scope, action, &target, &on),
            "{role:?} {action:?} with switch on"
        );
        assert!(
            !can(&scope, action, &target, &off),
            "{role:?} {action:?} with switch off"
        );
    }
    // A distributor always onboards partners; the switches are about tenants.
    let da = Scope::new(Role::DistributorAdministrator, d1()).unwrap();
    assert!(can(&da, Action::Create, &d1(), &off));
    // Platform administrators are never limited by the switches.
    let pa = Scope::new(Role::PlatformAdministrator, root()).unwrap();
    assert!(can(&pa, Action::Create, &t1(), &off));

    let calc = Governance {
        calculator_tenants: true,
        calculator_partners: true,
        calculator_distributors: true,
        ..Governance::default()
    };
    for (role, node) in [
        (Role::TenantUser, t1()),
        (Role::PartnerReader, p1()),
        (Role::DistributorAdministrator, d1()),
    ] {
        let scope = Scope::new(role, node).unwrap();
        assert!(!can(
            &scope,
            Action::UseEstimator,
            &t1(),
            &Governance::default()
        ));
        assert!(can(&scope, Action::UseEstimator, &t1(), &calc), "{role:?}");
        assert!(can(&scope, Action::UseEstimator, &s1(), &calc));
        assert!(!can(
            &scope,
            Action::UseEstimator,
            &NodePath::tenant("d2", "p9", "t8"),
            &calc
        ));
    }
}

#[test]
fn roles_are_granted_only_inside_scope_and_never_above_own_level() {
    let g = Governance::default();
    let pa = Scope::new(Role::PartnerAdministrator, p1()).unwrap();
    assert!(can_grant(&pa, Role::TenantAdministrator, &t1(), &g));
    assert!(can_grant(&pa, Role::PartnerReader, &p1(), &g));
    assert!(can_grant(&pa, Role::PartnerAdministrator, &p1(), &g));
    assert!(
        !can_grant(&pa, Role::DistributorAdministrator, &d1(), &g),
        "above own level"
    );
    assert!(!can_grant(
        &pa,
        Role::TenantAdministrator,
        &NodePath::tenant("d1", "p2", "t5"),
        &g
    ));
    assert!(
        !can_grant(&pa, Role::TenantAdministrator, &p1(), &g),
        "role at wrong level"
    );
    assert!(!can_grant(&pa, Role::PlatformReader, &root(), &g));
    let tu = Scope::new(Role::TenantUser, t1()).unwrap();
    assert!(
        !can_grant(&tu, Role::TenantUser, &t1(), &g),
        "readers grant nothing"
    );
    let ta = Scope::new(Role::TenantAdministrator, t1()).unwrap();
    assert!(can_grant(&ta, Role::TenantUser, &t1(), &g));
    let admin = Scope::new(Role::PlatformAdministrator, root()).unwrap();
    for role in Role::ALL {
        let at = match role.level() {
            stackbill_core::rbac::Level::Platform => root(),
            stackbill_core::rbac::Level::Distributor => d1(),
            stackbill_core::rbac::Level::Partner => p1(),
            _ => t1(),
        };
        assert!(can_grant(&admin, role, &at, &g), "{role:?}");
    }
}

#[test]
fn action_and_switch_names_round_trip() {
    let mut seen = std::collections::HashSet::new();
    for a in Action::ALL {
        assert_eq!(Action::from_name(a.name()), Some(a));
        assert!(seen.insert(a.name()), "duplicate name {}", a.name());
        assert!(a.name().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    }
    assert_eq!(Action::ManageBilling.name(), "manage_billing");
    assert_eq!(Action::from_name("ManageBilling"), None);
    // Each switch name reaches its own field: flipping one changes exactly that one.
    let base = Governance::default();
    let mut flipped = Vec::new();
    for name in Governance::SWITCHES {
        let mut g = base;
        let slot = g.switch_mut(name).expect("every listed switch resolves");
        *slot = !*slot;
        assert_ne!(g, base, "{name}");
        assert!(
            !flipped.contains(&g),
            "{name} flips the same field as another"
        );
        flipped.push(g);
    }
    assert!(Governance::default().switch_mut("nope").is_none());
}

#[test]
fn outside_names_parse_or_say_what_is_valid() {
    assert_eq!(
        Role::parse("partneradministrator"),
        Ok(Role::PartnerAdministrator)
    );
    let role = Role::parse("Emperor").unwrap_err().to_string();
    assert!(role.starts_with("unknown role \"Emperor\"; expected one of "));
    assert!(Role::ALL.iter().all(|r| role.contains(r.name())), "{role}");

    assert_eq!(Action::parse("read_usage"), Ok(Action::ReadUsage));
    let action = Action::parse("fly").unwrap_err().to_string();
    assert!(action.starts_with("unknown action \"fly\""));
    assert!(Action::ALL.iter().all(|a| action.contains(a.name())));

    let g = Governance::with_switches([("calculator_tenants", true)]).unwrap();
    assert!(g.calculator_tenants);
    assert_eq!(
        Governance::with_switches(Vec::<(String, bool)>::new()),
        Ok(Governance::default())
    );
    let switch = Governance::with_switches([("nope", true)])
        .unwrap_err()
        .to_string();
    assert!(switch.starts_with("unknown governance switch \"nope\""));
    assert!(Governance::SWITCHES.iter().all(|s| switch.contains(s)));
}

#[test]
fn nodes_from_ids_must_name_every_ancestor() {
    assert_eq!(
        NodePath::from_ids(Some("d1"), Some("p1"), Some("t1"), None),
        Ok(t1())
    );
    assert_eq!(
        NodePath::from_ids::<&str>(None, None, None, None),
        Ok(root())
    );
    let err = NodePath::from_ids(Some("d1"), None, Some("t1"), None).unwrap_err();
    assert!(
        err.to_string().contains("must name every ancestor"),
        "{err}"
    );
}

#[test]
fn nodes_from_named_fields() {
    let fields = [
        ("tenant", Some("t1")),
        ("partner", Some("p1")),
        ("distributor", Some("d1")),
        ("subscription", None),
    ];
    assert_eq!(NodePath::from_fields(fields), Ok(t1()));
    let err = NodePath::from_fields([("galaxy", Some("g"))]).unwrap_err();
    assert!(err.to_string().starts_with("unknown node key \"galaxy\""));
    assert!(NodePath::from_fields([("tenant", Some("t1"))]).is_err());
}

#[test]
fn can_anywhere_agrees_with_every_node_of_a_real_branch() {
    use stackbill_core::rbac::can_anywhere;
    // Every node of a small hierarchy: the scope's branch and beyond.
    let mut nodes = vec![root()];
    for d in ["d1", "d2"] {
        nodes.push(NodePath::distributor(d));
        for p in ["p1", "p2"] {
            nodes.push(NodePath::partner(d, p));
            for t in ["t1", "t2"] {
                nodes.push(NodePath::tenant(d, p, t));
                nodes.push(NodePath::subscription(d, p, t, "s1"));
            }
        }
    }
    let mut governances = vec![Governance::default()];
    let mut open = Governance::default();
    for name in [
        "distributor_tenant_self_provisioning",
        "partner_tenant_self_provisioning",
        "calculator_tenants",
        "calculator_partners",
        "calculator_distributors",
        "tenant_user_self_provisioning",
    ] {
        if let Some(switch) = open.switch_mut(name) {
            *switch = !*switch;
        }
    }
    governances.push(open);
    for role in Role::ALL {
        let (at, _) = positions(role);
        let scope = Scope::new(role, at).unwrap();
        for action in Action::ALL {
            for g in &governances {
                let brute = nodes.iter().any(|n| can(&scope, action, n, g));
                assert_eq!(
                    can_anywhere(&scope, action, g),
                    brute,
                    "{role:?} {action:?}"
                );
            }
        }
    }
}
