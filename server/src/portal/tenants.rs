//! Relationship Management → Tenants: the tenants the visitor may read, searched, sorted
//! and paged on the server so a platform of thousands answers one page at a time.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::session::Visitor;
use super::{Chrome, not_yours};
use crate::api::AppState;
use crate::api::access::{Allowed, ReadNode};

/// Rows per page.
const PAGE: usize = 50;

/// The orders offered, as (query value, label).
const SORTS: &[(&str, &str)] = &[
    ("name", "Name"),
    ("id", "Id"),
    ("partner", "Partner"),
    ("subscriptions", "Most subscriptions"),
];

#[derive(Template)]
#[template(path = "portal/tenants.html")]
struct Tenants {
    chrome: Chrome,
    query: String,
    sort: String,
    sorts: &'static [(&'static str, &'static str)],
    rows: Vec<Row>,
    total: usize,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
}

struct Row {
    id: String,
    name: String,
    partner: String,
    currency: String,
    subscriptions: usize,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Params {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(p): Query<Params>,
) -> Response {
    let caller = &visitor.caller;
    let chrome = Chrome::signed_in(&state, &visitor, "/tenants");
    if !super::opens(caller, "/tenants") {
        return not_yours();
    }
    let nodes = Allowed::<ReadNode>::new(caller.clone());
    let dir = caller.directory.as_ref();
    let query = p.q.unwrap_or_default().trim().to_owned();
    let needle = query.to_lowercase();
    let sort = p
        .sort
        .filter(|s| SORTS.iter().any(|(v, _)| v == s))
        .unwrap_or_else(|| "name".into());
    let mut subscriptions: std::collections::HashMap<String, usize> = Default::default();
    for s in &dir.subscriptions {
        let n = subscriptions.entry(s.tenant.to_lowercase()).or_default();
        *n = n.saturating_add(1);
    }
    let mut rows: Vec<Row> = nodes
        .visible(dir.tenant_entries())
        .into_iter()
        .filter(|t| t.closed_on.is_none())
        .filter(|t| {
            needle.is_empty()
                || t.name.to_lowercase().contains(&needle)
                || t.id.to_lowercase().contains(&needle)
        })
        .map(|t| Row {
            id: t.id.clone(),
            name: t.name.clone(),
            partner: dir
                .partner(&t.partner)
                .map_or_else(|| t.partner.clone(), |p| p.name.clone()),
            currency: t.currency.clone().unwrap_or_default(),
            subscriptions: subscriptions
                .get(&t.id.to_lowercase())
                .copied()
                .unwrap_or(0),
        })
        .collect();
    match sort.as_str() {
        "id" => rows.sort_by(|a, b| a.id.cmp(&b.id)),
        "partner" => rows.sort_by(|a, b| a.partner.cmp(&b.partner).then(a.name.cmp(&b.name))),
        "subscriptions" => rows.sort_by(|a, b| {
            b.subscriptions
                .cmp(&a.subscriptions)
                .then(a.name.cmp(&b.name))
        }),
        _ => rows.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.id.cmp(&b.id))
        }),
    }
    let total = rows.len();
    let pages = total.div_ceil(PAGE).max(1);
    let page_no = p.page.unwrap_or(1).clamp(1, pages);
    let link = |n: usize| {
        let q = serde_urlencoded::to_string([
            ("q", query.as_str()),
            ("sort", sort.as_str()),
            ("page", &n.to_string()),
        ])
        .unwrap_or_default();
        format!("/tenants?{q}")
    };
    let shown: Vec<Row> = rows
        .into_iter()
        .skip(page_no.saturating_sub(1).saturating_mul(PAGE))
        .take(PAGE)
        .collect();
    let template = Tenants {
        previous: (page_no > 1).then(|| link(page_no.saturating_sub(1))),
        next: (page_no < pages).then(|| link(page_no.saturating_add(1))),
        chrome,
        query,
        sort,
        sorts: SORTS,
        rows: shown,
        total,
        page: page_no,
        pages,
    };
    super::page(&state, Some(&visitor), &template)
}
