//! A form's write, sent through the API's own router with the visitor's access token:
//! the same validation, permission and scope checks, audit and jobs as the REST call,
//! and its answer's field errors shown next to the form's fields.

use std::net::{Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tower::ServiceExt;

use super::session::Visitor;
use crate::api::AppState;

/// What the API answered.
pub(crate) struct Answer {
    pub status: StatusCode,
    /// The envelope's `data`.
    pub data: Value,
    /// The envelope's errors as (field, message); the field empty when the error has none.
    pub errors: Vec<(String, String)>,
}

impl Answer {
    /// The message for `field`, if the API named it.
    pub(crate) fn error_for(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(field))
            .map(|(_, m)| m.clone())
    }

    /// Every message, for the top of the form.
    pub(crate) fn summary(&self) -> String {
        self.errors
            .iter()
            .map(|(f, m)| {
                if f.is_empty() {
                    m.clone()
                } else {
                    format!("{f}: {m}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A page saying why the API refused, `lead` first, with the API's status (403 for
    /// a role without the action, 404 for what is not the visitor's, 400 for bad input).
    pub(crate) fn refusal(&self, lead: &str) -> axum::response::Response {
        let mut page = super::refused(&format!("{lead}: {}", self.summary()));
        if self.status.is_client_error() || self.status.is_server_error() {
            *page.status_mut() = self.status;
        }
        page
    }
}

/// The API's answer to `method path` with `body` as `visitor`; `None` if the request
/// could not be built.
async fn send(
    state: &AppState,
    visitor: &Visitor,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Option<Response> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", visitor.token))
        .header(header::CONTENT_TYPE, "application/json")
        .header("prefer", "wait=120");
    if let Some(ext) = request.extensions_mut() {
        ext.insert(ConnectInfo(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let request = request.body(body).ok()?;
    let Ok(response) = crate::api::api_routes(state.clone()).oneshot(request).await;
    Some(response)
}

/// A file the API serves at `path` (an export), passed to the visitor as the API sent it;
/// a refusal as a page with the API's status.
pub(crate) async fn download(state: &AppState, visitor: &Visitor, path: &str) -> Response {
    let Some(response) = send(state, visitor, Method::GET, path, None).await else {
        return super::refused("The file could not be requested.");
    };
    if response.status().is_success() {
        return response;
    }
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
        .await
        .unwrap_or_default();
    let envelope: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let answer = Answer {
        status,
        data: Value::Null,
        errors: errors_of(&envelope),
    };
    answer.refusal("The file could not be produced")
}

/// `method path` with `body` as `visitor`. Calls that queue a job wait for it (up to two
/// minutes), so the page shows the outcome.
pub(crate) async fn call(
    state: &AppState,
    visitor: &Visitor,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let failed = |why: String| Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        data: Value::Null,
        errors: vec![(String::new(), why)],
    };
    let Some(response) = send(state, visitor, method, path, body).await else {
        return failed("the request could not be built".into());
    };
    let status = response.status();
    let bytes = match axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return failed(format!("the answer could not be read: {e}")),
    };
    let envelope: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        data: envelope["data"].clone(),
        errors: errors_of(&envelope),
    }
}

/// The envelope's errors as (field, message).
fn errors_of(envelope: &Value) -> Vec<(String, String)> {
    envelope["errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
