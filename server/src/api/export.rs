//! Answers as files: the list endpoints that have a table in [`crate::reports`] answer
//! CSV or XLSX for `?format=csv|xlsx`, or for `Accept: text/csv` / the XLSX media type;
//! JSON otherwise. A file holds every matching row unless `page`/`pageSize` are given.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use stackbill_export::{Cell, Format, Table};

use super::wire::{ApiError, ApiResult};

/// What a request asked to be answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The JSON envelope.
    Json,
    /// A file.
    File(Format),
}

/// The answer `format` (the query parameter, which wins) or the `Accept` header asks for.
pub(crate) fn answer(format: Option<&str>, headers: &HeaderMap) -> ApiResult<Answer> {
    if let Some(name) = format {
        if name.trim().eq_ignore_ascii_case("json") {
            return Ok(Answer::Json);
        }
        return Format::from_name(name).map(Answer::File).ok_or_else(|| {
            ApiError::field("format", format!("{name:?} is not json, csv or xlsx"))
        });
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    for item in accept.split(',') {
        let media = item.split(';').next().unwrap_or_default().trim();
        if let Some(f) = Format::from_media_type(media) {
            return Ok(Answer::File(f));
        }
        if ["application/json", "application/*", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
        {
            return Ok(Answer::Json);
        }
    }
    Ok(Answer::Json)
}

/// `name` with every character but ASCII letters, digits, `.`, `_` and `-` replaced by
/// `-`: safe inside a quoted `Content-Disposition` file name on any client.
pub(crate) fn safe_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `table` as a download named `name` (its extension added).
pub(crate) fn file(table: &Table, format: Format, name: &str) -> ApiResult<Response> {
    let bytes = stackbill_export::write(table, format)
        .map_err(|e| ApiError::internal(format!("export {:?}: {e}", table.title())))?;
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8; header=present".to_owned(),
        Format::Xlsx => format.media_type().to_owned(),
    };
    let safe = safe_file_name(name);
    let disposition = format!("attachment; filename=\"{safe}.{}\"", format.extension());
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    for (key, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ] {
        let value = HeaderValue::from_str(&value)
            .map_err(|_| ApiError::internal(format!("header value {value:?}")))?;
        h.insert(key, value);
    }
    Ok(response)
}

/// A table's rows as JSON objects keyed by its headers: text and dates as strings, money
/// and decimals as exact decimal strings, whole numbers as numbers, empty cells as null.
pub(crate) fn json_rows(table: &Table) -> Vec<Value> {
    table
        .rows()
        .iter()
        .map(|row| {
            let mut object = Map::with_capacity(row.len());
            for (header, cell) in table.headers().iter().zip(row) {
                let value = match cell {
                    Cell::Empty => Value::Null,
                    Cell::Text(text) => Value::String(text.clone()),
                    Cell::Integer(n) => Value::from(*n),
                    other => Value::String(other.csv_text()),
                };
                object.insert(header.clone(), value);
            }
            Value::Object(object)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).expect("header"),
        );
        h
    }

    #[test]
    fn the_query_wins_then_the_first_answerable_accept_item() {
        let none = HeaderMap::new();
        assert_eq!(answer(None, &none).ok(), Some(Answer::Json));
        assert_eq!(
            answer(Some("XLSX"), &accept("text/csv")).ok(),
            Some(Answer::File(Format::Xlsx))
        );
        assert_eq!(
            answer(Some("json"), &accept("text/csv")).ok(),
            Some(Answer::Json)
        );
        assert_eq!(
            answer(None, &accept("text/csv;q=0.9, application/json")).ok(),
            Some(Answer::File(Format::Csv))
        );
        assert_eq!(
            answer(None, &accept("text/html, */*")).ok(),
            Some(Answer::Json)
        );
        let e = answer(Some("pdf"), &none).expect_err("not a table format");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(
            e.to_string().contains("\"pdf\" is not json, csv or xlsx"),
            "{e}"
        );
    }
}
