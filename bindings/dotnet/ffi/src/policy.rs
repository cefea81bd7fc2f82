//! The RBAC request of `sb_can`/`sb_can_grant`, read from JSON into the core's types;
//! role, action and switch names are the core's own.

use serde_json::Value;
use stackbill_core::rbac::{self, Action, Governance, NodePath, Role, Scope};

use crate::error::Failure;

fn text<'a>(request: &'a Value, key: &str) -> Result<&'a str, Failure> {
    request[key]
        .as_str()
        .ok_or_else(|| Failure::invalid(key, "must be a string"))
}

fn node_path(request: &Value, key: &str) -> Result<NodePath, Failure> {
    let node = match &request[key] {
        Value::Null => return Ok(NodePath::platform()),
        Value::Object(node) => node,
        _ => return Err(Failure::invalid(key, "must be an object")),
    };
    let mut fields = Vec::with_capacity(node.len());
    for (name, value) in node {
        let id = match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_str()),
            _ => {
                return Err(Failure::invalid(
                    format!("{key}.{name}"),
                    "must be a string",
                ));
            }
        };
        fields.push((name.as_str(), id));
    }
    NodePath::from_fields(fields).map_err(scope_failure)
}

/// A name or node the policy refused, as `ScopeError`.
fn scope_failure(e: impl std::fmt::Display) -> Failure {
    Failure::Scope(e.to_string())
}

fn governance(request: &Value) -> Result<Governance, Failure> {
    let switches = match &request["governance"] {
        Value::Null => return Ok(Governance::default()),
        Value::Object(switches) => switches,
        _ => return Err(Failure::invalid("governance", "must be an object")),
    };
    let mut on = Vec::with_capacity(switches.len());
    for (name, value) in switches {
        let value = value
            .as_bool()
            .ok_or_else(|| Failure::invalid(format!("governance.{name}"), "must be a boolean"))?;
        on.push((name.as_str(), value));
    }
    Governance::with_switches(on).map_err(scope_failure)
}

fn scope(request: &Value) -> Result<Scope, Failure> {
    let role = Role::parse(text(request, "role")?).map_err(scope_failure)?;
    Scope::new(role, node_path(request, "at")?).map_err(scope_failure)
}

/// `{"role", "at", "action", "target", "governance"?}` → whether the core allows it.
pub(crate) fn can(request: &Value) -> Result<bool, Failure> {
    let name = text(request, "action")?;
    let action = Action::parse(name).map_err(scope_failure)?;
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
        Role::parse(text(request, "granted")?).map_err(scope_failure)?,
        &node_path(request, "target")?,
        &governance(request)?,
    ))
}
