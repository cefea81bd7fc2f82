//! The exhaustive authorization test: every role × every endpoint of the table below ×
//! every object of the endpoint's kind (the caller's own node, nodes below it, sibling
//! branches), expecting exactly what the core policy (`rbac::can`, `rbac::can_grant`, with
//! its own hand-written table test) decides: allowed calls get past authorization,
//! denied ones answer 403 when the caller may read the object and 404 when it may not
//! (no existence leak). Every list must hold exactly the objects in scope.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use stackbill_core::rbac::{self, Action, Governance, NodePath, Role, Scope};

use super::{Api, Db, Server, ids};

/// The fixture: d1 {p1 {t1 {s1}}, p2 {t2 {s2}}}, d2 {p3 {t3 {s3}}}.
fn path(id: &str) -> NodePath {
    match id {
        "platform" => NodePath::platform(),
        "d1" | "d2" => NodePath::distributor(id),
        "p1" | "p2" => NodePath::partner("d1", id),
        "p3" => NodePath::partner("d2", id),
        "t1" => NodePath::tenant("d1", "p1", "t1"),
        "t2" => NodePath::tenant("d1", "p2", "t2"),
        "t3" => NodePath::tenant("d2", "p3", "t3"),
        "s1" => NodePath::subscription("d1", "p1", "t1", "s1"),
        "s2" => NodePath::subscription("d1", "p2", "t2", "s2"),
        "s3" => NodePath::subscription("d2", "p3", "t3", "s3"),
        other => panic!("no fixture node {other}"),
    }
}

/// Where each role is granted.
fn home(role: Role) -> &'static str {
    match role {
        Role::PlatformAdministrator | Role::PlatformReader | Role::PlatformService => "platform",
        Role::DistributorAdministrator | Role::DistributorReader => "d1",
        Role::PartnerAdministrator | Role::PartnerReader => "p1",
        Role::TenantAdministrator | Role::TenantUser => "t1",
    }
}

fn node_field(id: &str) -> Value {
    if id == "platform" {
        return json!({});
    }
    match &id[..1] {
        "d" => json!({"distributorId": id}),
        "p" => json!({"partnerId": id}),
        "t" => json!({"tenantId": id}),
        _ => json!({}),
    }
}

/// What kind of object an endpoint acts on.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Platform,
    Distributor,
    Partner,
    Tenant,
    Subscription,
}

fn objects(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Platform => &["platform"],
        Kind::Distributor => &["d1", "d2"],
        Kind::Partner => &["p1", "p2", "p3"],
        Kind::Tenant => &["t1", "t2", "t3"],
        Kind::Subscription => &["s1", "s2", "s3"],
    }
}

/// How the expectation is decided.
#[derive(Clone, Copy)]
enum Rule {
    Can(Action),
    /// Creating or granting a TenantUser at the object.
    GrantTenantUser,
    /// An action on the tenant's user `user-{tenant}`: users outside what the caller may
    /// read (`ReadUsers`) answer 404, like any object out of scope.
    User(Action),
}

type Request = fn(&str, u32) -> (&'static str, String, Option<Value>);

/// The table: one row per endpoint.
fn endpoints() -> Vec<(&'static str, Kind, Rule, Request)> {
    use Action as A;
    vec![
        (
            "view distributor",
            Kind::Distributor,
            Rule::Can(A::Read),
            |o, _| ("GET", format!("/api/v1/distributors/{o}"), None),
        ),
        (
            "edit distributor",
            Kind::Distributor,
            Rule::Can(A::Update),
            |o, _| {
                (
                    "PUT",
                    format!("/api/v1/distributors/{o}"),
                    Some(json!({"name": o})),
                )
            },
        ),
        (
            "delete distributor",
            Kind::Distributor,
            Rule::Can(A::Delete),
            |o, _| ("DELETE", format!("/api/v1/distributors/{o}"), None),
        ),
        (
            "create partner",
            Kind::Distributor,
            Rule::Can(A::Create),
            |o, n| {
                (
                    "POST",
                    "/api/v1/partners".into(),
                    Some(json!({"id": format!("np{n}"), "distributorId": o, "name": "New"})),
                )
            },
        ),
        (
            "distributor commission rates",
            Kind::Distributor,
            Rule::Can(A::ManageCommissionRates),
            |o, _| {
                (
                    "PUT",
                    format!("/api/v1/commissions/rates/distributors/{o}"),
                    Some(
                        json!({"commission": {"mode": "graduated", "bands": [{"from": "0", "to": null, "percent": "2"}]}}),
                    ),
                )
            },
        ),
        ("view partner", Kind::Partner, Rule::Can(A::Read), |o, _| {
            ("GET", format!("/api/v1/partners/{o}"), None)
        }),
        (
            "edit partner",
            Kind::Partner,
            Rule::Can(A::Update),
            |o, _| {
                (
                    "PUT",
                    format!("/api/v1/partners/{o}"),
                    Some(json!({"name": o, "distributorId": if o == "p3" { "d2" } else { "d1" }})),
                )
            },
        ),
        (
            "delete partner",
            Kind::Partner,
            Rule::Can(A::Delete),
            |o, _| ("DELETE", format!("/api/v1/partners/{o}"), None),
        ),
        (
            "create tenant",
            Kind::Partner,
            Rule::Can(A::Create),
            |o, n| {
                (
                    "POST",
                    "/api/v1/tenants".into(),
                    Some(json!({"id": format!("nt{n}"), "partnerId": o, "name": "New"})),
                )
            },
        ),
        (
            "partner commission rates",
            Kind::Partner,
            Rule::Can(A::ManageCommissionRates),
            |o, _| {
                (
                    "PUT",
                    format!("/api/v1/commissions/rates/partners/{o}"),
                    Some(
                        json!({"commission": {"mode": "volume", "bands": [{"from": "0", "to": null, "percent": "5"}]}}),
                    ),
                )
            },
        ),
        ("view tenant", Kind::Tenant, Rule::Can(A::Read), |o, _| {
            ("GET", format!("/api/v1/tenants/{o}"), None)
        }),
        ("edit tenant", Kind::Tenant, Rule::Can(A::Update), |o, _| {
            (
                "PUT",
                format!("/api/v1/tenants/{o}"),
                Some(json!({"name": o, "partnerId": format!("p{}", &o[1..])})),
            )
        }),
        (
            "delete tenant",
            Kind::Tenant,
            Rule::Can(A::Delete),
            |o, _| ("DELETE", format!("/api/v1/tenants/{o}"), None),
        ),
        (
            "create subscription",
            Kind::Tenant,
            Rule::Can(A::Create),
            |o, n| {
                (
                    "POST",
                    "/api/v1/subscriptions".into(),
                    Some(
                        json!({"id": format!("ns{n}"), "tenantId": o, "regionId": "r1", "name": "New"}),
                    ),
                )
            },
        ),
        (
            "generate invoices",
            Kind::Tenant,
            Rule::Can(A::ManageBilling),
            |o, _| {
                (
                    "POST",
                    "/api/v1/billing/generate".into(),
                    Some(json!({"period": "2026-10", "tenantIds": [o]})),
                )
            },
        ),
        (
            "estimate",
            Kind::Tenant,
            Rule::Can(A::UseEstimator),
            |o, _| {
                (
                    "POST",
                    "/api/v1/pricing/estimate".into(),
                    Some(json!({"tenantId": o, "items": [{"meterId": "cores", "quantity": "10"}]})),
                )
            },
        ),
        (
            "create user",
            Kind::Tenant,
            Rule::GrantTenantUser,
            |o, n| {
                (
                    "POST",
                    "/api/v1/users".into(),
                    Some(
                        json!({"emailAddress": format!("new{n}@x.test"), "firstName": "N", "lastName": "U", "password": "new-user-password", "role": "TenantUser", "tenantId": o}),
                    ),
                )
            },
        ),
        ("grant role", Kind::Tenant, Rule::GrantTenantUser, |o, _| {
            (
                "POST",
                "/api/v1/roles".into(),
                Some(json!({"userId": format!("user-{o}"), "role": "TenantUser", "tenantId": o})),
            )
        }),
        (
            "view subscription",
            Kind::Subscription,
            Rule::Can(A::Read),
            |o, _| ("GET", format!("/api/v1/subscriptions/{o}"), None),
        ),
        (
            "edit subscription",
            Kind::Subscription,
            Rule::Can(A::Update),
            |o, _| {
                (
                    "PUT",
                    format!("/api/v1/subscriptions/{o}"),
                    Some(json!({"name": o, "tenantId": format!("t{}", &o[1..]), "regionId": "r1"})),
                )
            },
        ),
        (
            "delete subscription",
            Kind::Subscription,
            Rule::Can(A::Delete),
            |o, _| ("DELETE", format!("/api/v1/subscriptions/{o}"), None),
        ),
        (
            "view settings",
            Kind::Platform,
            Rule::Can(A::ReadSettings),
            |_, _| ("GET", "/api/v1/settings".into(), None),
        ),
        (
            "change settings",
            Kind::Platform,
            Rule::Can(A::ManageSettings),
            |_, _| {
                (
                    "PUT",
                    "/api/v1/settings/platforms".into(),
                    Some(json!({"reportPlatformAlerts": true})),
                )
            },
        ),
        (
            "read audit",
            Kind::Platform,
            Rule::Can(A::ReadAudit),
            |_, _| ("GET", "/api/v1/audit".into(), None),
        ),
        (
            "read jobs",
            Kind::Platform,
            Rule::Can(A::ReadJobs),
            |_, _| ("GET", "/api/v1/jobs".into(), None),
        ),
        (
            "read regions",
            Kind::Platform,
            Rule::Can(A::ReadRegions),
            |_, _| ("GET", "/api/v1/regions".into(), None),
        ),
        (
            "add region",
            Kind::Platform,
            Rule::Can(A::ManageRegions),
            |_, n| {
                (
                    "POST",
                    "/api/v1/regions".into(),
                    Some(
                        json!({"id": format!("nr{n}"), "name": "R", "timeZone": "UTC", "adminEndpoint": "https://adminmanagement.r.example", "collectionWindowHours": 24}),
                    ),
                )
            },
        ),
        (
            "read price lists",
            Kind::Platform,
            Rule::Can(A::ReadPricing),
            |_, _| ("GET", "/api/v1/pricing".into(), None),
        ),
        (
            "add price list",
            Kind::Platform,
            Rule::Can(A::ManagePricing),
            |_, n| {
                (
                    "POST",
                    "/api/v1/pricing".into(),
                    Some(
                        json!({"id": format!("pl{n}"), "scope": {"region": "r1"}, "currency": "USD", "effectiveFrom": format!("2030-01-{:02}", n % 28 + 1), "items": [{"meter": "cores", "rate": "1"}]}),
                    ),
                )
            },
        ),
        (
            "ingest usage",
            Kind::Platform,
            Rule::Can(A::IngestUsage),
            |_, n| {
                (
                    "POST",
                    "/api/v1/usage".into(),
                    Some(
                        json!({"records": [{"id": format!("u{n}"), "subscriptionId": "s1", "meterId": "cores", "start": "2026-10-02T00:00:00Z", "end": "2026-10-02T01:00:00Z", "quantity": "1"}]}),
                    ),
                )
            },
        ),
        (
            "add meter",
            Kind::Platform,
            Rule::Can(A::ManagePlans),
            |_, n| {
                (
                    "POST",
                    "/api/v1/meters".into(),
                    Some(json!({"id": format!("m{n}"), "name": "M", "unit": "h"})),
                )
            },
        ),
        (
            "list fx rates",
            Kind::Platform,
            Rule::Can(A::ReadPricing),
            |_, _| ("GET", "/api/v1/fx-rates".into(), None),
        ),
        (
            "publish an fx rate",
            Kind::Platform,
            Rule::Can(A::ManagePricing),
            |_, n| {
                (
                    "POST",
                    "/api/v1/fx-rates".into(),
                    Some(
                        json!({"from": "USD", "to": "AUD", "rate": "1.5", "asOf": format!("2026-01-{:02}", 1 + n % 28)}),
                    ),
                )
            },
        ),
        (
            "read plans",
            Kind::Platform,
            Rule::Can(A::ReadPlans),
            |_, _| ("GET", "/api/v1/plans".into(), None),
        ),
        (
            "process region usage",
            Kind::Platform,
            Rule::Can(A::ProcessUsage),
            |_, _| {
                (
                    "POST",
                    "/api/v1/regions/r1/process".into(),
                    Some(json!({"from": "2026-10-01", "to": "2026-10-31"})),
                )
            },
        ),
        (
            "generate commissions",
            Kind::Platform,
            Rule::Can(A::GenerateCommissions),
            |_, _| {
                (
                    "POST",
                    "/api/v1/commissions/generate".into(),
                    Some(json!({"period": "2026-10"})),
                )
            },
        ),
        (
            "generate a distributor's commissions",
            Kind::Distributor,
            Rule::Can(A::GenerateCommissions),
            |o, _| {
                (
                    "POST",
                    "/api/v1/commissions/generate".into(),
                    Some(json!({"period": "2026-10", "distributorId": o})),
                )
            },
        ),
        (
            "generate a partner's commissions",
            Kind::Partner,
            Rule::Can(A::GenerateCommissions),
            |o, _| {
                (
                    "POST",
                    "/api/v1/commissions/generate".into(),
                    Some(json!({"period": "2026-10", "partnerId": o})),
                )
            },
        ),
        (
            "view distributor commission rates",
            Kind::Distributor,
            Rule::Can(A::ReadCommissions),
            |o, _| {
                (
                    "GET",
                    format!("/api/v1/commissions/rates/distributors/{o}"),
                    None,
                )
            },
        ),
        (
            "view partner commission rates",
            Kind::Partner,
            Rule::Can(A::ReadCommissions),
            |o, _| {
                (
                    "GET",
                    format!("/api/v1/commissions/rates/partners/{o}"),
                    None,
                )
            },
        ),
        (
            "list a tenant's invoices",
            Kind::Tenant,
            Rule::Can(A::ReadBilling),
            |o, _| {
                (
                    "GET",
                    format!("/api/v1/billing/invoices?tenantId={o}"),
                    None,
                )
            },
        ),
        (
            "read a subscription's usage",
            Kind::Subscription,
            Rule::Can(A::ReadUsage),
            |o, _| {
                (
                    "GET",
                    format!("/api/v1/usage?period=2026-10&subscriptionId={o}"),
                    None,
                )
            },
        ),
        (
            "view user",
            Kind::Tenant,
            Rule::User(A::ReadUsers),
            |o, _| ("GET", format!("/api/v1/users/{{user-{o}}}"), None),
        ),
        (
            "edit user",
            Kind::Tenant,
            Rule::User(A::ManageUsers),
            |o, _| {
                (
                    "PUT",
                    format!("/api/v1/users/{{user-{o}}}"),
                    Some(json!({"phone": "+61 3 5550 0100", "mfaRequired": false})),
                )
            },
        ),
    ]
}

const PASSWORD: &str = "role-user-password";

fn email(role: Role) -> String {
    format!("{}@authz.test", role.name().to_lowercase())
}

fn setup(server: &Server) -> Api {
    let admin = server.admin();
    admin.ok("POST", "/api/v1/regions", Some(json!({"id": "r1", "name": "R1", "timeZone": "UTC", "adminEndpoint": "https://adminmanagement.r1.example", "collectionWindowHours": 24})));
    for d in ["d1", "d2"] {
        admin.ok(
            "POST",
            "/api/v1/distributors",
            Some(json!({"id": d, "name": d})),
        );
    }
    for (p, d) in [("p1", "d1"), ("p2", "d1"), ("p3", "d2")] {
        admin.ok(
            "POST",
            "/api/v1/partners",
            Some(json!({"id": p, "distributorId": d, "name": p})),
        );
    }
    for (t, p) in [("t1", "p1"), ("t2", "p2"), ("t3", "p3")] {
        admin.ok(
            "POST",
            "/api/v1/tenants",
            Some(json!({"id": t, "partnerId": p, "name": t})),
        );
        let s = format!("s{}", &t[1..]);
        admin.ok(
            "POST",
            "/api/v1/subscriptions",
            Some(json!({"id": s, "tenantId": t, "regionId": "r1", "name": s})),
        );
        admin.ok(
            "POST",
            "/api/v1/users",
            Some(json!({"emailAddress": format!("user-{t}@authz.test"), "firstName": "T", "lastName": t,
                        "password": PASSWORD, "role": "TenantUser", "tenantId": t})),
        );
    }
    // Usage on every subscription, so that allowed deletes are refused (409) and the
    // fixture survives the run.
    let records: Vec<Value> = ["s1", "s2", "s3"]
        .iter()
        .map(|s| json!({"id": format!("fixture-{s}"), "subscriptionId": s, "meterId": "cores", "start": "2026-10-01T00:00:00Z", "end": "2026-10-01T01:00:00Z", "quantity": "1"}))
        .collect();
    admin.ok("POST", "/api/v1/usage", Some(json!({"records": records})));
    for role in Role::ALL
        .into_iter()
        .filter(|r| *r != Role::PlatformAdministrator)
    {
        let mut body = json!({"emailAddress": email(role), "firstName": "R", "lastName": role.name(),
                              "password": PASSWORD, "role": role.name()});
        if let Value::Object(extra) = node_field(home(role)) {
            body.as_object_mut().unwrap().extend(extra);
        }
        admin.ok("POST", "/api/v1/users", Some(body));
    }
    admin
}

fn scope(role: Role) -> Scope {
    Scope::new(role, path(home(role))).unwrap()
}

fn expected(role: Role, rule: Rule, object: &str) -> bool {
    let g = Governance::default();
    let s = scope(role);
    match rule {
        Rule::Can(action) => rbac::can(&s, action, &path(object), &g),
        Rule::GrantTenantUser => rbac::can_grant(&s, Role::TenantUser, &path(object), &g),
        Rule::User(action) => rbac::can(&s, action, &path(object), &g),
    }
}

#[test]
fn every_role_every_endpoint_every_object_matches_the_policy() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    let user_ids: Vec<(String, String)> = admin
        .ok("GET", "/api/v1/users?pageSize=1000", None)
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["emailAddress"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut n = 0;
    let governance = Governance::default();
    let callers: Vec<(Role, Api)> = Role::ALL
        .into_iter()
        .map(|role| {
            let api = if role == Role::PlatformAdministrator {
                server.admin()
            } else {
                server.login(&email(role), PASSWORD)
            };
            (role, api)
        })
        .collect();

    // Lists hold exactly what the caller may read (zero leaks); checked for every role
    // before any endpoint below adds objects.
    for (role, api) in &callers {
        let s = scope(*role);
        for (list, kind) in [
            ("/api/v1/distributors", Kind::Distributor),
            ("/api/v1/partners", Kind::Partner),
            ("/api/v1/tenants", Kind::Tenant),
            ("/api/v1/subscriptions", Kind::Subscription),
        ] {
            let (status, body) = api.get(&format!("{list}?pageSize=1000"));
            let want: Vec<String> = objects(kind)
                .iter()
                .filter(|o| rbac::can(&s, Action::Read, &path(o), &governance))
                .map(|o| (*o).to_owned())
                .collect();
            checked += 1;
            if status != 200 || ids(&body["data"]) != want {
                failures.push(format!(
                    "{role:?} GET {list}: {status}, got {:?}, want {want:?}",
                    ids(&body["data"])
                ));
            }
        }
        let (status, body) = api.get("/api/v1/users?pageSize=1000");
        let seen: BTreeSet<String> = body["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u["emailAddress"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let want: BTreeSet<String> = user_ids
            .iter()
            .filter(|(_, e)| {
                let node = match e.as_str() {
                    e if e.starts_with("user-t") => path(&e[5..7]),
                    e => Role::ALL
                        .into_iter()
                        .find(|r| email(*r) == e)
                        .map(|r| path(home(r)))
                        .unwrap_or_else(NodePath::platform),
                };
                rbac::can(&s, Action::ReadUsers, &node, &governance)
            })
            .map(|(_, e)| e.clone())
            .collect();
        checked += 1;
        let allowed_some = !want.is_empty();
        if (allowed_some && (status != 200 || seen != want)) || (!allowed_some && !seen.is_empty())
        {
            failures.push(format!(
                "{role:?} GET /users: {status}, got {seen:?}, want {want:?}"
            ));
        }
    }

    for (role, api) in &callers {
        let (role, s) = (*role, scope(*role));
        // Every endpoint on every object.
        for (name, kind, rule, request) in endpoints() {
            for object in objects(kind) {
                n += 1;
                let (method, mut url, mut body) = request(object, n);
                // User endpoints name a user by id, known only at run time.
                if let Some(start) = url.find("{user-") {
                    let end = url[start..].find('}').map_or(url.len(), |e| start + e);
                    let email = format!("{}@authz.test", &url[start + 1..end]);
                    let id = user_ids
                        .iter()
                        .find(|(_, e)| *e == email)
                        .map(|(id, _)| id.clone())
                        .unwrap_or_default();
                    url.replace_range(start..=end.min(url.len() - 1), &id);
                }
                // The role grant names a user by id, known only at run time.
                if let Some(b) = body.as_mut()
                    && let Some(wanted) = b["userId"].as_str().map(str::to_owned)
                {
                    let email = format!("{wanted}@authz.test");
                    let id = user_ids
                        .iter()
                        .find(|(_, e)| *e == email)
                        .map(|(id, _)| id.clone());
                    b["userId"] = json!(id.unwrap_or(wanted));
                }
                let (status, answer) = api.send(method, &url, body);
                let allow = expected(role, rule, object);
                let visibility = match rule {
                    Rule::User(_) => Action::ReadUsers,
                    _ => Action::Read,
                };
                // Runs (invoices, commissions) by a role that can never run them are
                // refused up front, whatever they name: 403, which tells nothing about
                // the object.
                let run_refused = name.starts_with("generate")
                    && matches!(rule, Rule::Can(a) if !rbac::can_anywhere(&s, a, &governance));
                let readable = kind == Kind::Platform
                    || run_refused
                    || rbac::can(&s, visibility, &path(object), &governance);
                let ok = if allow {
                    !matches!(status, 401 | 403 | 404) && status < 500
                } else if readable {
                    status == 403
                } else {
                    status == 404
                };
                checked += 1;
                if !ok {
                    failures.push(format!(
                        "{role:?} {name} on {object} ({:?}): {method} {url} → {status} (expected {}) {answer}",
                        s.relation(&path(object)),
                        if allow { "allowed" } else if readable { "403" } else { "404" },
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 500, "{checked}");
}

#[test]
fn the_self_provisioning_switches_take_effect() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    let partner = server.login(&email(Role::PartnerAdministrator), PASSWORD);
    let tenant = server.login(&email(Role::TenantAdministrator), PASSWORD);
    let new_tenant = |n: u32| json!({"partnerId": "p1", "name": format!("T{n}")});
    let new_sub = |n: u32| json!({"id": format!("switch-s{n}"), "tenantId": "t1", "regionId": "r1", "name": "S"});

    assert_eq!(
        partner.post("/api/v1/tenants", new_tenant(1)).0,
        201,
        "on by default"
    );
    // Ids are assigned below the platform: a chosen one is refused alike whether it is
    // free or taken by a tenant the partner cannot see (t3 is in another branch), so the
    // answer tells nothing about other branches.
    for id in ["t3", "free-id-77"] {
        let (status, body) = partner.post(
            "/api/v1/tenants",
            json!({"id": id, "partnerId": "p1", "name": "Probe"}),
        );
        assert_eq!(status, 400, "{id}: {body}");
        assert_eq!(body["errors"][0]["field"], "id", "{body}");
    }
    assert_eq!(
        tenant.post("/api/v1/subscriptions", new_sub(1)).0,
        201,
        "on by default"
    );
    admin.ok(
        "PUT",
        "/api/v1/settings/tenants",
        Some(json!({"partnerSelfProvisioning": false, "distributorSelfProvisioning": true})),
    );
    admin.ok("PUT", "/api/v1/settings/subscriptions", Some(json!({"tenantSelfProvisioning": false, "partnerProvisioning": true, "distributorProvisioning": true})));
    let (status, body) = partner.post("/api/v1/tenants", new_tenant(2));
    assert_eq!(status, 403, "{body}");
    let (status, body) = tenant.post("/api/v1/subscriptions", new_sub(2));
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        partner.post("/api/v1/subscriptions", new_sub(3)).0,
        201,
        "partner provisioning still on"
    );

    // Calculator visibility: off by default below the platform, on when shown to tenants.
    let estimate = json!({"tenantId": "t1", "items": [{"meterId": "cores", "quantity": "1"}]});
    assert_eq!(
        tenant.post("/api/v1/pricing/estimate", estimate.clone()).0,
        403
    );
    admin.ok(
        "PUT",
        "/api/v1/settings/calculator",
        Some(json!({"showToTenants": true, "showToPartners": false, "showToDistributors": false})),
    );
    let (status, body) = tenant.post("/api/v1/pricing/estimate", estimate);
    assert!(!matches!(status, 401 | 403 | 404), "{status} {body}");
    // A tenant prices only with lists that could apply to it: another tenant's private
    // list answers like a missing one.
    admin.ok("POST", "/api/v1/pricing", Some(json!({"id": "t3-private", "scope": {"tenant": "t3"},
        "currency": "USD", "effectiveFrom": "2026-01-01", "items": [{"meter": "cores", "rate": "0.01"}]})));
    let with_list = |list: &str| json!({"tenantId": "t1", "priceListId": list, "items": [{"meterId": "cores", "quantity": "1"}]});
    let (status, foreign) = tenant.post("/api/v1/pricing/estimate", with_list("t3-private"));
    assert_eq!(status, 400, "{foreign}");
    let (_, missing) = tenant.post("/api/v1/pricing/estimate", with_list("nope"));
    assert_eq!(
        foreign["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace("t3-private", "?"),
        missing["errors"][0]["message"]
            .as_str()
            .unwrap()
            .replace("nope", "?")
    );
}

#[test]
fn user_provisioning_switches_and_what_a_caller_learns_about_other_branches() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    let partner = server.login(&email(Role::PartnerAdministrator), PASSWORD);
    let new_user = |n: u32| {
        json!({"emailAddress": format!("switch{n}@authz.test"), "firstName": "S", "lastName": "U",
               "password": "switch-user-password", "role": "TenantUser", "tenantId": "t1"})
    };
    assert_eq!(
        partner.post("/api/v1/users", new_user(1)).0,
        201,
        "on by default"
    );
    admin.ok(
        "PUT",
        "/api/v1/settings/users",
        Some(json!({"partnerSelfProvisioning": false})),
    );
    let (status, body) = partner.post("/api/v1/users", new_user(2));
    assert_eq!(status, 403, "{body}");

    // Out of scope answers exactly like missing, message included.
    let message = |(status, body): (u16, Value)| (status, body["errors"][0]["message"].clone());
    for (theirs, missing) in [
        ("/api/v1/tenants/t3", "/api/v1/tenants/t9"),
        ("/api/v1/partners/p3", "/api/v1/partners/p9"),
        ("/api/v1/distributors/d2", "/api/v1/distributors/d9"),
        ("/api/v1/subscriptions/s3", "/api/v1/subscriptions/s9"),
    ] {
        let (a, b) = (message(partner.get(theirs)), message(partner.get(missing)));
        assert_eq!(a.0, 404);
        assert_eq!(
            a.1.as_str()
                .unwrap()
                .replace(&theirs[theirs.len() - 2..], "?"),
            b.1.as_str()
                .unwrap()
                .replace(&missing[missing.len() - 2..], "?"),
        );
    }
    let grant = |tenant: &str, partner_id: &str| {
        json!({"emailAddress": format!("probe-{tenant}@authz.test"), "firstName": "P", "lastName": "R",
               "password": "probe-user-password", "role": "TenantUser", "tenantId": tenant,
               "partnerId": partner_id})
    };
    // A wrong owner for a foreign tenant is not a hint that the tenant exists.
    let (a, b) = (
        message(partner.post("/api/v1/users", grant("t3", "p1"))),
        message(partner.post("/api/v1/users", grant("t9", "p1"))),
    );
    assert_eq!(a.0, 404, "{a:?}");
    assert_eq!(
        a.1.as_str().unwrap().replace("t3", "?"),
        b.1.as_str().unwrap().replace("t9", "?")
    );

    // A user's roles elsewhere stay hidden: user-t1 also becomes a user of t3.
    let users = admin.ok("GET", "/api/v1/users?pageSize=1000", None);
    let id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["emailAddress"] == "user-t1@authz.test")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .unwrap();
    admin.ok(
        "POST",
        "/api/v1/roles",
        Some(json!({"userId": id, "role": "TenantUser", "tenantId": "t3"})),
    );
    assert_eq!(
        admin.ok("GET", &format!("/api/v1/users/{id}"), None)["roles"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let seen = partner.ok("GET", &format!("/api/v1/users/{id}"), None);
    assert_eq!(
        seen["roles"],
        json!([{"role": "TenantUser", "distributorId": null, "partnerId": null, "tenantId": "t1"}])
    );
    // …and the partner may not change an account that also holds power outside its branch.
    let (status, body) = partner.send(
        "PUT",
        &format!("/api/v1/users/{id}"),
        Some(json!({"disabled": true})),
    );
    assert_eq!(status, 403, "{body}");
}

#[test]
fn usage_queries_of_a_large_scope_page_exactly() {
    let server = Server::start(Db::Sqlite);
    let admin = setup(&server);
    // More subscriptions in the distributor's scope than one `IN (…)` list holds.
    for n in 0..520 {
        admin.ok(
            "POST",
            "/api/v1/subscriptions",
            Some(json!({"id": format!("bulk{n:03}"),
            "tenantId": "t1", "regionId": "r1", "name": "B"})),
        );
    }
    let records: Vec<Value> = (0..520)
        .step_by(10)
        .map(|n| format!("bulk{n:03}"))
        .chain(["s3".to_owned()])
        .map(|s| json!({"id": format!("large-{s}"), "subscriptionId": s, "meterId": "cores",
                        "start": "2026-10-05T00:00:00Z", "end": "2026-10-05T01:00:00Z", "quantity": "1"}))
        .collect();
    admin.ok("POST", "/api/v1/usage", Some(json!({"records": records})));
    let distributor = server.login(&email(Role::DistributorReader), PASSWORD);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("/api/v1/usage?period=2026-10&pageSize=7&after={a}"),
            None => "/api/v1/usage?period=2026-10&pageSize=7".to_owned(),
        };
        let page = distributor.ok("GET", &url, None);
        for r in page["records"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let mut want: Vec<String> = (0..520)
        .step_by(10)
        .map(|n| format!("large-bulk{n:03}"))
        .chain(["fixture-s1".to_owned(), "fixture-s2".to_owned()])
        .collect();
    want.sort();
    seen.sort();
    assert_eq!(
        seen, want,
        "every row of d1's subscriptions once, none of d2's"
    );
}
