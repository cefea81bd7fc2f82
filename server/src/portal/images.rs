//! Images a setting holds (the portal's logo, the Invoice Header Logo): the manual's file
//! picker. Each is its own small form posting the file as `multipart/form-data`; the
//! portal checks it is a PNG or JPEG by its first bytes, makes it the `data:` URL the
//! API stores, and saves that one setting through the API's `PUT settings/{group}`,
//! which checks the image the way the invoice renderer will draw it. No script runs.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{Map, Value};

use super::session::Visitor;
use crate::api::AppState;

/// The settings that hold an image.
pub(crate) const IMAGES: &[&str] = &["logo", "invoiceHeaderLogo"];

/// Largest file taken: its `data:` URL must fit the setting.
const MAX_BYTES: usize = crate::api::system::MAX_LOGO / 4 * 3 - 64;

/// One image setting as its form shows it.
pub(crate) struct Image {
    pub name: String,
    pub label: String,
    /// The image now set, as its `data:` URL (the page may show `data:` images).
    pub current: Option<String>,
    pub error: Option<String>,
}

/// The image settings among `values`, with the API's errors about them.
pub(crate) fn of(
    values: &Map<String, Value>,
    label: impl Fn(&str) -> String,
    errors: &[(String, String)],
) -> Vec<Image> {
    IMAGES
        .iter()
        .filter(|k| values.contains_key(**k))
        .map(|k| Image {
            name: (*k).to_owned(),
            label: label(k),
            current: values[*k]
                .as_str()
                .filter(|u| u.starts_with("data:image/"))
                .map(str::to_owned),
            error: errors
                .iter()
                .find(|(f, _)| f == k)
                .map(|(_, m)| super::sign_in::sentence(m)),
        })
        .collect()
}

/// The media type of an image file by its first bytes: only what invoices can draw.
fn media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// What the form sent.
#[derive(Default)]
struct Sent {
    csrf: String,
    file: Vec<u8>,
    remove: bool,
}

async fn read(mut form: Multipart) -> Result<Sent, String> {
    let mut sent = Sent::default();
    while let Some(field) = form.next_field().await.map_err(|e| e.body_text())? {
        match field.name().unwrap_or_default() {
            "csrf" => sent.csrf = field.text().await.map_err(|e| e.body_text())?,
            "remove" => sent.remove = true,
            "image" => {
                let bytes = field.bytes().await.map_err(|e| e.body_text())?;
                if bytes.len() > MAX_BYTES {
                    return Err(format!(
                        "the file is {} KB; at most {} KB is kept",
                        bytes.len() / 1024,
                        MAX_BYTES / 1024
                    ));
                }
                sent.file = bytes.to_vec();
            }
            _ => {}
        }
    }
    Ok(sent)
}

/// What the setting becomes: the file as a `data:` URL, or null when it is removed.
fn stored(sent: &Sent) -> Result<Value, &'static str> {
    if sent.remove {
        return Ok(Value::Null);
    }
    if sent.file.is_empty() {
        return Err("choose a PNG or JPEG file first");
    }
    let media = media_type(&sent.file).ok_or("must be a PNG or JPEG image")?;
    let data = base64::engine::general_purpose::STANDARD.encode(&sent.file);
    Ok(Value::String(format!("data:{media};base64,{data}")))
}

/// Uploads (or with `remove`, clears) image setting `field` of group `name`.
pub(crate) async fn save(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    Path((name, field)): Path<(String, String)>,
    form: Multipart,
) -> Response {
    let sent = match read(form).await {
        Ok(sent) => sent,
        // Unreadable (too large, cut off): the form's token was not read either, so
        // nothing is saved and the page says why.
        Err(why) => return super::refused(&format!("The image was not saved: {why}.")),
    };
    if let Some(refusal) = visitor.form_refusal(&state, &headers, &sent.csrf) {
        return refusal;
    }
    // Paths reach the portal lower-cased (the API's clients send any case): the
    // setting's own spelling is found again.
    let Some(field) = IMAGES.iter().find(|k| k.eq_ignore_ascii_case(&field)) else {
        return super::not_found();
    };
    let field = (*field).to_owned();
    let value = match stored(&sent) {
        Ok(value) => value,
        Err(why) => {
            let errors = [(field, why.to_owned())];
            return super::settings::refused_with(
                &state,
                &visitor,
                &name,
                &errors,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let mut body = Map::new();
    body.insert(field, value);
    let answer = match super::settings::put(&state, &visitor, &name, body).await {
        Ok(saved) => return saved,
        Err(answer) => answer,
    };
    if answer.status == StatusCode::NOT_FOUND {
        return super::not_found();
    }
    super::settings::refused_with(&state, &visitor, &name, &answer.errors, answer.status).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_png_and_jpeg_are_taken() {
        assert_eq!(media_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(media_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(media_type(b"GIF89a"), None);
        assert_eq!(media_type(b"<svg"), None);
        assert_eq!(media_type(b""), None);
    }
}
