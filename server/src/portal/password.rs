//! The forced password change: an account whose password an administrator set (or that
//! was generated at first start) signs in to a session that opens only this page, and
//! leaves it with its own password and a full session. The change is the API's
//! `auth/change-password`: the same policy, every earlier session ended, audited.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use stackbill_store::UserRow;

use super::session::{self, cookie};
use super::{Chrome, page, refused};
use crate::api::AppState;
use crate::api::portal_api::change_password_of;
use crate::api::wire::ApiError;

#[derive(Template)]
#[template(path = "portal/change_password.html")]
struct ChangePassword {
    chrome: Chrome,
    next: String,
    error: Option<String>,
    current_error: Option<String>,
    new_error: Option<String>,
    again_error: Option<String>,
}

/// The account of a session that may only finish signing in (or a full one).
async fn finishing(state: &AppState, headers: &HeaderMap) -> Option<UserRow> {
    let token = cookie(headers, session::ACCESS)?;
    let caller = state.caller_of(token, true).await.ok()?;
    state
        .store()
        .user(&caller.principal.user.id)
        .await
        .ok()
        .flatten()
}

fn form_page(
    state: &AppState,
    settings: &serde_json::Value,
    user: &UserRow,
    next: String,
) -> ChangePassword {
    ChangePassword {
        chrome: Chrome {
            csrf: session::csrf_token(state, &user.id, user.session_epoch),
            ..Chrome::anonymous(settings)
        },
        next,
        error: None,
        current_error: None,
        new_error: None,
        again_error: None,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    next: Option<String>,
}

pub(crate) async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let Some(user) = finishing(&state, &headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    let settings = super::settings(&state).await;
    let template = form_page(
        &state,
        &settings,
        &user,
        super::sign_in::local_path(q.next.as_deref()),
    );
    page(&state, None, &template)
}

#[derive(Debug, Deserialize)]
pub(crate) struct Change {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
    #[serde(default)]
    next: Option<String>,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<Change>,
) -> Response {
    if !session::same_origin(&headers) {
        return refused("This form did not come from this site.");
    }
    let Some(user) = finishing(&state, &headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    let want = session::csrf_token(&state, &user.id, user.session_epoch);
    if !session::same_token(&form.csrf, &want) {
        return refused(session::EXPIRED);
    }
    let next = super::sign_in::local_path(form.next.as_deref());
    let settings = super::settings(&state).await;
    let mut template = form_page(&state, &settings, &user, next.clone());
    if form.new != form.again {
        template.again_error = Some("Does not match the new password.".into());
    } else {
        match change_password_of(&state, user, form.current, form.new).await {
            Ok(tokens) => {
                let mut response = Redirect::to(&next).into_response();
                session::keep(&mut response, &tokens, &state);
                return response;
            }
            Err(ApiError::Invalid { field, message }) => {
                let message = super::sign_in::sentence(&message);
                match field.as_deref() {
                    Some("currentPassword") => template.current_error = Some(message),
                    Some("newPassword") => template.new_error = Some(message),
                    _ => template.error = Some(message),
                }
            }
            Err(other) => {
                tracing::warn!(error = %other, "a portal password change failed");
                template.error =
                    Some("The password could not be changed. Try again in a moment.".into());
            }
        }
    }
    let mut response = page(&state, None, &template);
    *response.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    response
}
