//! The RBAC request of `sb_can`/`sb_can_grant`, read from JSON into the core's types;
//! role, action and switch names are the core's own.

use serde_json::Value;
use stackbill_core::hierarchy::{DistributorId, PartnerId, SubscriptionId, TenantId};
use stackbill_core::rbac::{self, Action, Governance, NodePath, Role, Scope};

use crate::error::Failure;

fn text<'a>(request: &'a Value, key: &str) -> Result<&'a str, Failure> {
    request[key]
        .as_str()
        .ok_or_else(|| Failure::invalid(key, "must be a string"))
}

fn node_path(request: &Value, key: &str) -> Result<NodePath, Failure> {
    const KEYS: [&str; 4] = ["distributor", "partner", "tenant", "subscription"];
    let node = match &request[key] {
        Value::Null => return Ok(NodePath::platform()),
        Value::Object(node) => node,
        _ => return Err(Failure::invalid(key, "must be an object")),
    };
    let mut parts: [Option<String>; 4] = Default::default();
    for (name, value) in node {
        let slot = KEYS.iter().position(|k| k == name).ok_or_else(|| {
            Failure::Scope(format!(
                "unknown node key {name:?} (expected {})",
                KEYS.join(", ")
            ))
        })?;
        parts[slot] = match value {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => {
                return Err(Failure::invalid(
                    format!("{key}.{name}"),
                    "must be a string",
                ));
            }
        };
    }
    let [d, p, t, s] = parts;
    let path = NodePath {
        distributor: d.map(DistributorId::new),
        partner: p.map(PartnerId::new),
        tenant: t.map(TenantId::new),
        subscription: s.map(SubscriptionId::new),
    };
    if !path.is_well_formed() {
        return Err(Failure::Scope(
            "a node must name every ancestor (a tenant needs its partner and distributor)".into(),
        ));
    }
    Ok(path)
}

fn role(name: &str) -> Result<Role, Failure> {
    Role::from_name(name).ok_or_else(|| {
        Failure::Scope(format!(
            "unknown role {name:?}; expected one of {}",
            Role::ALL.map(Role::name).join(", ")
        ))
    })
}

fn governance(request: &Value) -> Result<Governance, Failure> {
    let mut g = Governance::default();
    let switches = match &request["governance"] {
        Value::Null => return Ok(g),
        Value::Object(switches) => switches,
        _ => return Err(Failure::invalid("governance", "must be an object")),
    };
    for (name, on) in switches {
        let slot = g.switch_mut(name).ok_or_else(|| {
            Failure::Scope(format!(
                "unknown governance switch {name:?}; expected one of {}",
                Governance::SWITCHES.join(", ")
            ))
        })?;
        *slot = on
            .as_bool()
            .ok_or_else(|| Failure::invalid(format!("governance.{name}"), "must be a boolean"))?;
    }
    Ok(g)
}

fn scope(request: &Value) -> Result<Scope, Failure> {
    Scope::new(role(text(request, "role")?)?, node_path(request, "at")?)
        .map_err(|e| Failure::Scope(e.to_string()))
}

/// `{"role", "at", "action", "target", "governance"?}` → whether the core allows it.
pub(crate) fn can(request: &Value) -> Result<bool, Failure> {
    let name = text(request, "action")?;
    let action = Action::from_name(name)
        .ok_or_else(|| Failure::Scope(format!("unknown action {name:?}")))?;
    Ok(rbac::can(
        &scope(request)?,
        action,
        &node_path(request, "target")?,
        &governance(request)?,
    ))
}

/// `{"role", "at", "granted", "target", "governance"?}` → whether the grant is allowed.
pub(crate) fn can_grant(request: &Value) -> Result<bool, Failure> {
    Ok(rbac::can_grant(
        &scope(request)?,
        role(text(request, "granted")?)?,
        &node_path(request, "target")?,
        &governance(request)?,
    ))
}
