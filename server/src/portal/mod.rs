//! The web portal: server-rendered pages for people, over the same callers, permissions
//! and scope rules as the REST API (a page finds its caller in the session cookie and
//! asks [`crate::api::access`] exactly what a handler would). Templates are askama's,
//! checked when the server compiles and escaped by default; the two stylesheets are the
//! only other assets, served from the binary. No script is needed to use any page.

mod authenticator;
mod bands;
mod brand;
mod breakdown;
mod calls;
mod dashboard;
mod entries;
mod estimator;
mod federated;
mod fields;
mod forms;
mod images;
mod invoice_actions;
mod invoices;
mod items;
mod lists;
mod object_kinds;
mod objects;
mod pairs;
mod password;
mod session;
mod settings;
mod sign_in;
mod summary;
mod tenants;
mod users;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use stackbill_core::rbac::{Action, Level};

use crate::api::AppState;
use crate::api::access::Caller;
use crate::naming::Naming;
use session::Visitor;

/// Pages may load this site's stylesheets and `data:` images (logos), post forms only
/// here, and be framed by no one.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The portal's routes.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/sign-in/federated/{index}", get(federated::start))
        .route("/sign-in/callback", get(federated::callback))
        .route("/sign-out", axum::routing::post(sign_in::sign_out))
        .route(
            "/change-password",
            get(password::form).post(password::submit),
        )
        .route(
            "/authenticator",
            get(authenticator::form).post(authenticator::submit),
        )
        .route("/dashboard", get(dashboard::page))
        .route(
            "/alerts/{id}/acknowledge",
            axum::routing::post(dashboard::acknowledge),
        )
        .route("/tenants", get(tenants::page))
        .route("/subscriptions/summary", get(summary::page_of))
        .route("/estimate", get(estimator::form).post(estimator::submit))
        .route("/lists/{key}", get(lists::show))
        .route("/lists/commissions/export", get(lists::export))
        .route(
            "/lists/commissions/generate",
            axum::routing::post(lists::generate),
        )
        .route("/users/{id}", get(users::show).post(users::save))
        .route(
            "/users/{id}/roles/{action}",
            axum::routing::post(users::roles),
        )
        .route(
            "/users/{id}/delete",
            get(users::confirm_delete).post(users::delete),
        )
        .route("/settings", get(settings::index))
        .route(
            "/settings/{group}",
            get(settings::group).post(settings::save),
        )
        .route(
            "/settings/{group}/images/{field}",
            axum::routing::post(images::save),
        )
        .route(
            "/objects/{key}/{id}",
            get(objects::show).post(objects::save),
        )
        .route(
            "/objects/{key}/{id}/delete",
            get(objects::confirm_delete).post(objects::delete),
        )
        .route(
            "/objects/{key}/{id}/do/{action}",
            axum::routing::post(objects::act),
        )
        .route("/relationships", get(forms::index))
        .route(
            "/relationships/new/{kind}",
            get(forms::new).post(forms::create),
        )
        .route("/invoices", get(invoices::list))
        .route(
            "/invoices/generate",
            get(invoice_actions::generate_form).post(invoice_actions::generate),
        )
        .route(
            "/pricing/recalculate",
            get(invoice_actions::recalculate_form).post(invoice_actions::recalculate),
        )
        .route("/invoices/{id}", get(invoices::view))
        .route(
            "/invoices/{id}/{action}",
            get(invoice_actions::confirm).post(invoice_actions::perform),
        )
        .route("/invoices/{id}/document", get(invoices::document))
        .route("/assets/portal.css", get(stylesheet))
        .route("/assets/theme.css", get(theme))
}

/// What every page shows around its content: the platform's brand, the visitor, the
/// screens the visitor's roles may open.
pub(crate) struct Chrome {
    pub product: String,
    pub logo: Option<String>,
    pub who: Option<String>,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

/// One entry of the main navigation.
pub(crate) struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// The screens, each with what its reader must be allowed somewhere.
const SCREENS: &[(&str, &str, Action, Option<Level>)] = &[
    ("Dashboard", "/dashboard", Action::Read, None),
    ("Relationships", "/relationships", Action::Create, None),
    (
        "Distributors",
        "/lists/distributors",
        Action::Read,
        Some(Level::Distributor),
    ),
    (
        "Partners",
        "/lists/partners",
        Action::Read,
        Some(Level::Partner),
    ),
    ("Tenants", "/tenants", Action::Read, Some(Level::Tenant)),
    ("Subscriptions", "/lists/subscriptions", Action::Read, None),
    ("Users", "/lists/users", Action::ReadUsers, None),
    ("Regions", "/lists/regions", Action::ReadRegions, None),
    ("Meters", "/lists/meters", Action::ReadPricing, None),
    ("Plans", "/lists/plans", Action::ReadPlans, None),
    ("Pricing", "/lists/pricing", Action::ReadPricing, None),
    ("Estimator", "/estimate", Action::UseEstimator, None),
    ("Invoices", "/invoices", Action::ReadBilling, None),
    (
        "Commissions",
        "/lists/commissions",
        Action::ReadCommissions,
        None,
    ),
    (
        "Settings",
        "/settings",
        Action::ReadSettings,
        Some(Level::Distributor),
    ),
    (
        "Audit",
        "/lists/audit",
        Action::ReadAudit,
        Some(Level::Distributor),
    ),
    (
        "Jobs",
        "/lists/jobs",
        Action::ReadJobs,
        Some(Level::Distributor),
    ),
];

/// Whether the screen at `href` opens for `caller`: the navigation's rule, applied again
/// when the page is asked for directly.
pub(crate) fn opens(caller: &Caller, href: &str) -> bool {
    SCREENS
        .iter()
        .any(|(_, h, action, above)| *h == href && shows(caller, *action, *above))
}

impl Chrome {
    /// The chrome of a signed-in page, `current` the path of the page shown.
    pub(crate) fn signed_in(state: &AppState, visitor: &Visitor, current: &str) -> Chrome {
        let caller = &visitor.caller;
        let user = &caller.principal.user;
        let nav = SCREENS
            .iter()
            .filter(|(_, _, action, above)| shows(caller, *action, *above))
            .map(|(label, href, _, _)| NavItem {
                label,
                href,
                current: *href == current,
            })
            .collect();
        let own = brand::of(caller);
        let platform = Chrome::anonymous(&caller.settings);
        Chrome {
            product: own.product.unwrap_or(platform.product),
            logo: own.logo.filter(|l| usable_logo(l)).or(platform.logo),
            who: Some(
                format!("{} {}", user.first_name, user.last_name)
                    .trim()
                    .to_owned(),
            )
            .filter(|w| !w.is_empty())
            .or_else(|| Some(user.email.clone())),
            csrf: visitor.csrf(state),
            nav,
        }
    }

    /// The chrome of the sign-in page.
    pub(crate) fn anonymous(settings: &serde_json::Value) -> Chrome {
        let branding = &settings["branding"];
        let text = |k: &str| {
            branding[k]
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Chrome {
            product: text("productName").unwrap_or_else(|| "StackBill".into()),
            logo: text("logo").filter(|l| usable_logo(l)),
            who: None,
            csrf: String::new(),
            nav: Vec::new(),
        }
    }
}

/// Logos are shown only as PNG or JPEG `data:` URLs (the page's policy loads no other
/// images, and an SVG could carry script).
fn usable_logo(logo: &str) -> bool {
    logo.starts_with("data:image/png;base64,") || logo.starts_with("data:image/jpeg;base64,")
}

/// Whether a screen appears for `caller`: it may do `action` somewhere, and (for screens
/// of lists below a level) holds a role above that level.
fn shows(caller: &Caller, action: Action, above: Option<Level>) -> bool {
    caller.can_somewhere(action)
        && above.is_none_or(|level| {
            caller
                .principal
                .scopes
                .iter()
                .any(|s| s.role().level() < level)
        })
}

/// `template` as the answer, with the portal's headers and any renewed session cookies.
pub(crate) fn page(
    state: &AppState,
    visitor: Option<&Visitor>,
    template: &impl Template,
) -> Response {
    let html = match template.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "a portal page failed to render");
            return refused("This page could not be shown. The error is in the server's log.");
        }
    };
    let naming = visitor.and_then(|v| Naming::of(&v.caller.settings["branding"]));
    let html = match naming {
        Some(naming) => naming.apply(&html),
        None => html,
    };
    let mut response = (StatusCode::OK, axum::response::Html(html)).into_response();
    headers(&mut response);
    if let Some(tokens) = visitor.and_then(|v| v.renewed.as_ref()) {
        session::keep(&mut response, tokens, state);
    }
    response
}

fn headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Browsers send the page's origin with its form posts, which the portal checks.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// A plain page saying why a request was refused (400).
pub(crate) fn refused(why: &str) -> Response {
    #[derive(Template)]
    #[template(
        source = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Refused</title><link rel=\"stylesheet\" href=\"/assets/portal.css\"><link rel=\"stylesheet\" href=\"/assets/theme.css\"></head><body><main id=\"content\"><h1>Refused</h1><p class=\"alert\" role=\"alert\">{{ why }}</p><p><a href=\"/dashboard\">Back to the dashboard</a></p></main></body></html>",
        ext = "html"
    )]
    struct Refused<'a> {
        why: &'a str,
    }
    let html = Refused { why }.render().unwrap_or_else(|_| why.to_owned());
    let mut response = (StatusCode::BAD_REQUEST, axum::response::Html(html)).into_response();
    headers(&mut response);
    response
}

/// The page that asks before something that cannot be undone: `question`, then a form
/// posting to `action` with `button`, or back to `cancel`.
#[derive(Template)]
#[template(path = "portal/confirm.html")]
pub(crate) struct Confirm {
    pub chrome: Chrome,
    pub heading: String,
    pub question: String,
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
    pub error: Option<String>,
}

/// A page refusing a form whose API call failed: the form again (its errors placed) with
/// the API's client-error status, or 422 when the API failed otherwise.
pub(crate) fn refused_form(
    state: &AppState,
    visitor: &Visitor,
    template: &impl Template,
    status: StatusCode,
) -> Response {
    let mut response = page(state, Some(visitor), template);
    *response.status_mut() = if status.is_client_error() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    response
}

/// A page for something that does not exist or is not the visitor's (404).
pub(crate) fn not_found() -> Response {
    let mut response = refused("There is no such page, or what it shows is not yours to see.");
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// A page for a screen the visitor's roles do not open (403), not naming what is there.
pub(crate) fn not_yours() -> Response {
    let mut response = refused("Your role does not open this page.");
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/portal.css").to_owned(),
    )
}

/// System Settings for pages shown before or without a caller (sign-in, the theme):
/// empty when the database cannot be read, so those pages fall back to the defaults.
pub(crate) async fn settings(state: &AppState) -> std::sync::Arc<serde_json::Value> {
    match state.snapshot().await {
        Ok(s) => s.settings.clone(),
        Err(_) => std::sync::Arc::new(serde_json::Value::Null),
    }
}

/// The brand's colours as CSS custom properties, from System Settings → Branding, or the
/// visitor's own distributor's or partner's brand ([`brand`]).
async fn theme(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let settings = settings(&state).await;
    let colour = |key: &str, default: &str| -> String {
        settings["branding"][key]
            .as_str()
            .filter(|c| is_hex_colour(c))
            .unwrap_or(default)
            .to_owned()
    };
    let own = match session::cookie(&headers, session::ACCESS) {
        Some(token) => match state.caller_of(token, true).await {
            Ok(caller) => brand::of(&caller).primary.filter(|c| is_hex_colour(c)),
            Err(_) => None,
        },
        None => None,
    };
    let primary = own.unwrap_or_else(|| colour("primaryColour", "#0F6CBD"));
    let accent = colour("accentColour", "#107C10");
    let on_primary = if light(&primary) {
        "#000000"
    } else {
        "#FFFFFF"
    };
    let mut response = asset(
        "text/css; charset=utf-8",
        format!(
            ":root {{ --primary: {primary}; --accent: {accent}; --on-primary: {on_primary}; }}\n"
        ),
    );
    // It differs by who asks: no shared cache may keep one person's for another.
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(header::VARY, HeaderValue::from_static("Cookie"));
    response
}

fn is_hex_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
}

/// Whether black text reads better than white on `colour` (WCAG relative luminance).
fn light(colour: &str) -> bool {
    let channel = |i: usize| {
        let v = f64::from(
            colour
                .get(i..i.saturating_add(2))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .unwrap_or(0),
        ) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with white (1.05 / (L + 0.05)) against contrast with black ((L + 0.05) / 0.05).
    (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05)
}

fn asset(content_type: &'static str, body: String) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_on_the_brand_colour_keeps_its_contrast() {
        assert!(!light("#0F6CBD"), "white on the default blue");
        assert!(light("#FFD700"), "black on gold");
        assert!(is_hex_colour("#a1B2c3") && !is_hex_colour("red") && !is_hex_colour("#12345g"));
    }
}
