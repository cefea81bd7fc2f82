//! The outermost layer of every response (OWASP ASVS 5, V3 and V13):
//!
//! - a request id (`X-Request-Id`), named in every 5xx message and in the log line that
//!   carries the detail, so a report can be matched to its cause without the cause ever
//!   reaching the client;
//! - a handler that panics answers 500 with the envelope and the request id only;
//! - every error, whoever produced it (the router's 405, a path that is not UTF-8, a body
//!   over the limit), answers in the API's JSON envelope;
//! - security headers: `nosniff`, no framing, a restrictive content security policy
//!   (the Swagger UI gets the little it needs), no referrer, and `Cache-Control:
//!   no-store` on the API, whose answers carry tokens and tenants' data.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use tracing::Instrument;

use super::wire::ApiError;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served (empty outside one).
pub(crate) fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

const API_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const SWAGGER_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Largest plain-text error body carried over into the envelope's message.
const MESSAGE_LIMIT: usize = 300;

/// The middleware (see the module documentation). Everything logged while a request is
/// served is inside its `request` span, so every log line names the request id.
pub(crate) async fn harden(req: Request, next: Next) -> Response {
    let id = format!("{:016x}", rand::random::<u64>());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    let started = std::time::Instant::now();
    let response = serve(id, req, next).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, millis, "served");
        } else {
            tracing::debug!(status, millis, "served");
        }
    });
    response
}

async fn serve(id: String, req: Request, next: Next) -> Response {
    let swagger = req.uri().path().starts_with("/swagger");
    // A declared length over the limit is refused before a byte of it is read.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let oversized = declared.is_some_and(|n| n > super::wire::BODY_LIMIT as u64);
    let served = if oversized {
        Ok(REQUEST_ID
            .scope(id.clone(), async {
                ApiError::Status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!(
                        "the request body is larger than {} bytes",
                        super::wire::BODY_LIMIT
                    ),
                )
                .into_response()
            })
            .await)
    } else {
        REQUEST_ID
            .scope(id.clone(), AssertUnwindSafe(next.run(req)).catch_unwind())
            .await
    };
    let mut response = match served {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "handler panicked");
            REQUEST_ID
                .scope(id.clone(), async {
                    ApiError::internal("panic").into_response()
                })
                .await
        }
    };
    if !swagger {
        response = REQUEST_ID.scope(id.clone(), enveloped(response)).await;
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert("x-request-id", value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // The portal's pages say `same-origin`: under `no-referrer` a browser sends
    // `Origin: null` with a form post, and the portal checks that origin.
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    // A handler answering a document (an invoice's HTML) sets the narrower policy that
    // document needs; everything else gets the API's.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if swagger { SWAGGER_POLICY } else { API_POLICY }),
        );
    }
    if !swagger {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    }
    response
}

/// An error response that is neither the API's JSON nor a portal page (the router's or an extractor's
/// plain text, or an empty body) rewritten into the envelope, headers kept (`Allow`,
/// `Retry-After`).
async fn enveloped(response: Response) -> Response {
    let status = response.status();
    // The API's JSON and the portal's HTML pages (which explain an error to a person)
    // are answers already.
    let answered = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || answered {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MESSAGE_LIMIT * 4)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let mut text: String = text.chars().take(MESSAGE_LIMIT).collect();
    if text.is_empty() {
        text = status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_lowercase();
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::NotFound(text),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::Status(
            status,
            "method_not_allowed",
            "this endpoint does not accept that method (see Allow)".into(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::Status(
            status,
            "payload_too_large",
            "the request body is larger than the API accepts".into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::Status(status, "unsupported_media_type", text)
        }
        s if s.is_server_error() => ApiError::internal(text),
        StatusCode::BAD_REQUEST => ApiError::Invalid {
            field: None,
            message: text,
        },
        s => ApiError::Status(s, "request_refused", text),
    };
    let mut fresh = error.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    *fresh.status_mut() = status;
    fresh
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn call(app: Router, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = app
            .oneshot(Request::get(path).body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_with_only_a_request_id() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    panic!("secret detail: password=hunter2");
                    #[allow(unreachable_code)]
                    ""
                }),
            )
            .route(
                "/plain",
                get(|| async { (StatusCode::BAD_REQUEST, "Invalid URL: bad") }),
            )
            .layer(axum::middleware::from_fn(harden));
        let (status, headers, body) = call(app.clone(), "/boom").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let id = headers["x-request-id"].to_str().unwrap();
        assert!(body.contains(id), "{body}");
        assert!(body.contains("\"internal_error\""), "{body}");
        assert!(
            !body.contains("hunter2") && !body.contains("secret"),
            "{body}"
        );
        // The server keeps serving.
        let (status, _, body) = call(app.clone(), "/plain").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["code"], 400);
        assert_eq!(value["errors"][0]["message"], "Invalid URL: bad");
        let (status, headers, body) = call(app, "/missing").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers["cache-control"], "no-store");
        assert!(body.contains("\"not_found\""), "{body}");
    }
}
