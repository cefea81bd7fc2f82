//! The read-only screens of the manual that are one list each — users, distributors,
//! partners, subscriptions, regions, meters, plans, price lists, commission summaries,
//! the audit log and jobs — declared as data: the API list they show (read through the
//! API with the visitor's token, so its scope filters them), the columns, and the
//! permission that puts them in the navigation. Commission summaries can also be
//! generated here.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use stackbill_core::rbac::Action;

use super::calls::call;
use super::session::Visitor;
use super::{Chrome, not_found, page};
use crate::api::AppState;

/// Rows per page.
const PAGE: usize = 50;

/// One list screen (who may open it is its entry in the navigation, [`super::opens`]).
pub(crate) struct ListSpec {
    key: &'static str,
    title: &'static str,
    api: &'static str,
    columns: &'static [(&'static str, &'static str)],
    /// The column that links to the object's own page, and that page's path prefix.
    link: Option<(&'static str, &'static str)>,
}

const LISTS: &[ListSpec] = &[
    ListSpec {
        key: "users",
        title: "Users",
        api: "/api/v1/users",
        columns: &[
            ("emailAddress", "E-mail"),
            ("firstName", "First name"),
            ("lastName", "Last name"),
            ("roles", "Roles"),
            ("mfaRequired", "MFA required"),
            ("federatedOnly", "Federated only"),
            ("disabled", "Disabled"),
            ("lockedOut", "Locked out"),
        ],
        link: Some(("emailAddress", "/users/")),
    },
    ListSpec {
        key: "distributors",
        title: "Distributors",
        api: "/api/v1/distributors",
        columns: &[("id", "Id"), ("name", "Name"), ("currency", "Currency")],
        link: None,
    },
    ListSpec {
        key: "partners",
        title: "Partners",
        api: "/api/v1/partners",
        columns: &[
            ("id", "Id"),
            ("name", "Name"),
            ("distributorId", "Distributor"),
            ("currency", "Currency"),
        ],
        link: None,
    },
    ListSpec {
        key: "subscriptions",
        title: "Subscriptions",
        api: "/api/v1/subscriptions",
        columns: &[
            ("name", "Name"),
            ("id", "Id"),
            ("tenantId", "Tenant"),
            ("regionId", "Region"),
            ("planId", "Plan"),
            ("status", "Status"),
            ("endsOn", "Ends on"),
        ],
        link: None,
    },
    ListSpec {
        key: "regions",
        title: "Regions",
        api: "/api/v1/regions",
        columns: &[
            ("id", "Id"),
            ("name", "Name"),
            ("timeZone", "Time zone"),
            ("adminEndpoint", "Admin endpoint"),
        ],
        link: None,
    },
    ListSpec {
        key: "meters",
        title: "Meters",
        api: "/api/v1/meters",
        columns: &[("name", "Name"), ("id", "Id"), ("unit", "Unit")],
        link: None,
    },
    ListSpec {
        key: "plans",
        title: "Plans",
        api: "/api/v1/plans",
        columns: &[
            ("id", "Id"),
            ("name", "Name"),
            ("quotas", "Quotas"),
            ("offerId", "Offer"),
        ],
        link: None,
    },
    ListSpec {
        key: "pricing",
        title: "Price lists",
        api: "/api/v1/pricing",
        columns: &[
            ("id", "Id"),
            ("name", "Name"),
            ("scope", "Scope"),
            ("currency", "Currency"),
            ("effectiveFrom", "From"),
            ("effectiveTo", "To"),
            ("items", "Items"),
        ],
        link: None,
    },
    ListSpec {
        key: "commissions",
        title: "Commissions",
        api: "/api/v1/commissions/summary",
        columns: &[
            ("period", "Period"),
            ("partyKind", "Kind"),
            ("partyId", "Party"),
            ("currency", "Currency"),
            ("base", "Base"),
            ("amount", "Commission"),
            ("plan", "Plan"),
            ("bands", "Bands"),
        ],
        link: None,
    },
    ListSpec {
        key: "audit",
        title: "Audit log",
        api: "/api/v1/audit",
        columns: &[
            ("at", "At"),
            ("actor", "Actor"),
            ("action", "Action"),
            ("target", "Target"),
        ],
        link: None,
    },
    ListSpec {
        key: "jobs",
        title: "Jobs",
        api: "/api/v1/jobs",
        columns: &[
            ("id", "Id"),
            ("kind", "Kind"),
            ("status", "Status"),
            ("progress", "Progress"),
            ("message", "Message"),
            ("createdAt", "Created"),
            ("finishedAt", "Finished"),
        ],
        link: None,
    },
];

#[derive(Template)]
#[template(path = "portal/list.html")]
struct List {
    chrome: Chrome,
    title: &'static str,
    path: String,
    period: Option<String>,
    /// `period=…` of the export links (commissions).
    period_query: String,
    generate: bool,
    /// Buttons above the table: add an object, start a run.
    links: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
    summary: String,
    headers: Vec<&'static str>,
    /// Each cell's text and, for the linking column, the object's page.
    rows: Vec<Vec<(String, Option<String>)>>,
    previous: Option<String>,
    next: Option<String>,
}

/// The buttons above list `key`: its add form, on Pricing the recalculation of previews
/// after a price change, on Subscriptions their usage and billing summary.
fn links(visitor: &Visitor, key: &str, home: &str) -> Vec<(String, String)> {
    let mut links: Vec<(String, String)> =
        super::forms::add_link(visitor, home).into_iter().collect();
    if key == "pricing" && visitor.caller.can_somewhere(Action::ManageBilling) {
        links.push((
            "Recalculate previews".into(),
            super::invoice_actions::RECALCULATE.path().into(),
        ));
    }
    if key == "subscriptions" {
        links.push(("Summary".into(), "/subscriptions/summary".into()));
    }
    links
}

/// A JSON value as one table cell.
pub(crate) fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::Object(o) => o
                        .get("role")
                        .map(cell)
                        .or_else(|| match (o.get("from"), o.get("to"), o.get("percent")) {
                            (Some(f), t, Some(p)) => Some(format!(
                                "{}–{}: {}%",
                                cell(f),
                                t.map(cell).unwrap_or_default(),
                                cell(p)
                            )),
                            _ => None,
                        })
                        .unwrap_or_else(|| "…".to_owned()),
                    other => cell(other),
                })
                .collect();
            if texts.iter().all(|t| t != "…") {
                texts.join("; ")
            } else {
                format!("{} item(s)", items.len())
            }
        }
        Value::Object(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", cell(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Params {
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    period: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
}

/// The month before this one, `YYYY-MM`: the period commissions are first looked at for.
fn last_month() -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    let first = today.with_day(1).unwrap_or(today);
    first
        .pred_opt()
        .unwrap_or(first)
        .format("%Y-%m")
        .to_string()
}

pub(crate) async fn show(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(key): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let Some(spec) = LISTS.iter().find(|s| s.key == key) else {
        return not_found();
    };
    if !super::opens(&visitor.caller, &format!("/lists/{}", spec.key)) {
        return super::not_yours();
    }
    let page_no = q.page.unwrap_or(1).max(1);
    let period = (spec.key == "commissions").then(|| {
        q.period
            .clone()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(last_month)
    });
    // Commission summaries are one period's, whole; every other list is paged by the API.
    let query = match &period {
        Some(p) => vec![("period", p.clone())],
        None => vec![
            ("page", page_no.to_string()),
            ("pageSize", PAGE.to_string()),
        ],
    };
    let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
    let answer = call(
        &state,
        &visitor,
        Method::GET,
        &format!("{}?{qs}", spec.api),
        None,
    )
    .await;
    if matches!(answer.status.as_u16(), 403 | 404) && period.is_none() {
        return super::not_yours();
    }
    let items = answer.data.as_array().cloned().unwrap_or_default();
    let home = format!("/lists/{}", spec.key);
    let object_page = super::objects::page_of(&home);
    let rows: Vec<Vec<(String, Option<String>)>> = items
        .iter()
        .map(|item| {
            spec.columns
                .iter()
                .map(|(k, _)| {
                    let id = match &item["id"] {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    };
                    let href = match (spec.link, object_page) {
                        (Some((column, prefix)), _) if column == *k => {
                            id.map(|id| format!("{prefix}{id}"))
                        }
                        (None, Some(key)) if spec.columns.first().is_some_and(|c| c.0 == *k) => {
                            id.map(|id| format!("/objects/{key}/{id}"))
                        }
                        _ => None,
                    };
                    (cell(&item[*k]), href)
                })
                .collect()
        })
        .collect();
    let link = |n: usize| {
        let mut q = vec![("page", n.to_string())];
        if let Some(p) = &period {
            q.push(("period", p.clone()));
        }
        format!(
            "/lists/{}?{}",
            spec.key,
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    };
    let notice = if q.done.as_deref() == Some("generated") {
        Some("The commission summaries were generated.".to_owned())
    } else if let Some(id) = &q.deleted {
        Some(format!("{id} was deleted."))
    } else {
        super::forms::added(q.done.as_deref(), q.id.as_deref())
    };
    let (previous, next) = (
        (page_no > 1).then(|| link(page_no.saturating_sub(1))),
        (period.is_none() && rows.len() == PAGE).then(|| link(page_no.saturating_add(1))),
    );
    let template = List {
        chrome: Chrome::signed_in(&state, &visitor, &format!("/lists/{}", spec.key)),
        title: spec.title,
        path: format!("/lists/{}", spec.key),
        generate: period.is_some() && visitor.caller.can_somewhere(Action::GenerateCommissions),
        links: links(&visitor, spec.key, &home),
        period_query: period
            .as_deref()
            .map(|p| serde_urlencoded::to_string([("period", p)]).unwrap_or_default())
            .unwrap_or_default(),
        period,
        notice,
        error: (!answer.status.is_success()).then(|| answer.summary()),
        summary: format!("{} row(s) on page {page_no}.", rows.len()),
        headers: spec.columns.iter().map(|(_, h)| *h).collect(),
        previous,
        next,
        rows,
    };
    page(&state, Some(&visitor), &template)
}

#[derive(Debug, Deserialize)]
pub(crate) struct GenerateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period: String,
}

/// Generates the commission summaries of a period (month or year) in the visitor's scope.
pub(crate) async fn generate(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Response {
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &form.csrf) {
        return refusal;
    }
    let period = form.period.trim().to_owned();
    let answer = call(
        &state,
        &visitor,
        Method::POST,
        "/api/v1/commissions/generate",
        Some(json!({ "period": period })),
    )
    .await;
    if !answer.status.is_success() {
        return answer.refusal("The summaries were not generated");
    }
    let q = serde_urlencoded::to_string([("period", period.as_str()), ("done", "generated")])
        .unwrap_or_default();
    Redirect::to(&format!("/lists/commissions?{q}")).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct ExportQuery {
    #[serde(default)]
    period: String,
    #[serde(default)]
    format: String,
}

/// `GET /lists/commissions/export`: the manual's Export Commission Data, the API's own
/// CSV or Excel file of one month's or year's summaries in the visitor's scope.
pub(crate) async fn export(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(q): Query<ExportQuery>,
) -> Response {
    if !super::opens(&visitor.caller, "/lists/commissions") {
        return super::not_yours();
    }
    let query =
        serde_urlencoded::to_string([("period", q.period.trim()), ("format", q.format.trim())])
            .unwrap_or_default();
    super::calls::download(&state, &visitor, &format!("/api/v1/commissions?{query}")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_read_as_one_cell() {
        assert_eq!(
            cell(&json!({"region": null, "tenant": "ten-1"})),
            "tenant: ten-1"
        );
        assert_eq!(
            cell(&json!([{"role": "TenantUser", "tenantId": "t"}])),
            "TenantUser"
        );
        assert_eq!(
            cell(&json!([{"from": "0", "to": "100", "percent": "2"}])),
            "0–100: 2%"
        );
        assert_eq!(
            cell(&json!([{"meter": "m", "rate": "1"}, {"meter": "n"}])),
            "2 item(s)"
        );
        assert_eq!(cell(&json!(true)), "yes");
    }
}
