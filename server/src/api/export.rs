//! Answers as files: the list endpoints that have a table in [`crate::reports`] answer
//! CSV or XLSX for `?format=csv|xlsx`, or for `Accept: text/csv` / the XLSX media type;
//! JSON otherwise. A file holds every matching row unless `page`/`pageSize` are given.

use axum::body::Body;
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

/// Bytes of a CSV answer in flight: at most this many per chunk, and at most
/// [`CHUNKS_IN_FLIGHT`] chunks written ahead of a slow client.
const CHUNK: usize = 64 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// `table` as a download named `name` (its extension added). A CSV is written to the
/// connection as it is produced, chunk by chunk, never assembled whole: a large
/// platform's export starts at once and holds one chunk, not the file, per request. An
/// XLSX is a zip whose directory comes last, so it is built whole first.
pub(crate) fn file(table: Table, format: Format, name: &str) -> ApiResult<Response> {
    let body = match format {
        Format::Csv => Body::from_stream(csv_stream(table)),
        Format::Xlsx => Body::from(
            stackbill_export::write(&table, format)
                .map_err(|e| ApiError::internal(format!("export {:?}: {e}", table.title())))?,
        ),
    };
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8; header=present".to_owned(),
        Format::Xlsx => format.media_type().to_owned(),
    };
    let safe = safe_file_name(name);
    let disposition = format!("attachment; filename=\"{safe}.{}\"", format.extension());
    let mut response = (StatusCode::OK, body).into_response();
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

type Chunk = Result<Vec<u8>, std::io::Error>;

/// The CSV of `table`, written on a blocking thread into a bounded channel. A failure
/// after the first byte cannot change the status any more: it ends the stream with an
/// error, so the client sees a broken transfer, never a silently short file.
fn csv_stream(table: Table) -> impl futures::Stream<Item = Chunk> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut out = Chunks {
            buf: Vec::with_capacity(CHUNK),
            tx: tx.clone(),
        };
        if let Err(e) = stackbill_export::write_csv(&table, &mut out) {
            tracing::warn!(export = table.title(), error = %e, "a CSV export was cut off");
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    })
}

/// A writer handing its bytes to the response in [`CHUNK`]-sized pieces.
struct Chunks {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Chunk>,
}

impl Chunks {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl std::io::Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
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

    #[tokio::test]
    async fn a_csv_answer_arrives_in_chunks_that_make_up_the_whole_file() {
        use futures::StreamExt;
        let mut table = Table::new("Lines", &["tenant", "note"]);
        for i in 0..20_000 {
            table
                .push(vec![
                    Cell::text(format!("tenant-{i}")),
                    Cell::text("=1+1, \"quoted\""),
                ])
                .expect("row");
        }
        let whole = stackbill_export::write(&table, Format::Csv).expect("csv");
        let response = file(table, Format::Csv, "lines").expect("answer");
        assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
        let mut chunks = response.into_body().into_data_stream();
        let mut got = Vec::new();
        let mut count = 0;
        while let Some(chunk) = chunks.next().await {
            got.extend_from_slice(&chunk.expect("chunk"));
            count += 1;
        }
        assert!(count > 1, "{} bytes came in {count} chunk(s)", got.len());
        assert!(got == whole, "the chunks are the file");
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
