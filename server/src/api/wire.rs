//! The wire format the manual's PowerShell client speaks: every response in an envelope
//! `{"code", "data", "errors"}`, camelCase keys, request keys matched case-insensitively,
//! and one table from error to status and stable code.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stackbill_store::StoreError;
use utoipa::ToSchema;

/// One problem with a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Problem {
    /// Stable machine-readable code (`not_found`, `invalid_field`, …).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request field at fault, as a path (`items[2].price`), when there is one.
    pub field: Option<String>,
}

/// The response envelope.
#[derive(Debug, Serialize)]
pub(crate) struct Envelope<T> {
    code: u16,
    data: T,
    errors: Vec<Problem>,
}

/// A successful response: `data` in the envelope with status 200 (or `status`).
#[derive(Debug)]
pub(crate) struct Ok<T>(pub T, pub StatusCode);

/// `200 OK` with `data`.
pub(crate) fn ok<T: Serialize>(data: T) -> Ok<T> {
    Ok(data, StatusCode::OK)
}

/// `201 Created` with `data`.
pub(crate) fn created<T: Serialize>(data: T) -> Ok<T> {
    Ok(data, StatusCode::CREATED)
}

impl<T: Serialize> IntoResponse for Ok<T> {
    fn into_response(self) -> Response {
        let body = Envelope {
            code: self.1.as_u16(),
            data: self.0,
            errors: Vec::new(),
        };
        json_response(self.1, &body)
    }
}

/// Serializes `body` as a JSON response.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Result::Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(e) => ApiError::internal(format!("response not serializable: {e}")).into_response(),
    }
}

/// Every error the API answers with. [`ApiError::status`] and [`ApiError::code`] are the
/// one table from error to HTTP status and stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// The body is not JSON, or a field is missing or has the wrong type or value.
    Invalid {
        /// The field path, when known.
        field: Option<String>,
        /// What was wrong.
        message: String,
    },
    /// Several bad fields at once (a price list or plan the engine rejected), each with
    /// its path.
    InvalidFields(Vec<(String, String)>),
    /// No credentials, or they are not valid.
    Unauthenticated(String),
    /// Signed in, but the role does not allow this.
    Forbidden(String),
    /// No such object, or not in the caller's scope (the two are indistinguishable).
    NotFound(String),
    /// Unique key taken, or a write conflicting with the current state.
    Conflict(String),
    /// A delete refused because other data depends on the object.
    Blocked(String),
    /// Too many attempts from this address: retry after the given seconds.
    Throttled(u64),
    /// The database is unreachable or failed.
    Unavailable(String),
    /// A bug: logged, reported as 500 without detail.
    Internal(String),
    /// Any other status, with its stable code (`method_not_allowed`,
    /// `unsupported_media_type`, …) and message.
    Status(StatusCode, &'static str, String),
}

impl ApiError {
    /// A bad field.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// An internal error.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        ApiError::Internal(message.into())
    }

    /// Its HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } | ApiError::InvalidFields(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Blocked(_) => StatusCode::CONFLICT,
            ApiError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Status(status, _, _) => *status,
        }
    }

    /// Its stable code.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { .. } | ApiError::InvalidFields(_) => "invalid_request",
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Blocked(_) => "blocked",
            ApiError::Throttled(_) => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
            ApiError::Status(_, code, _) => code,
        }
    }

    pub(crate) fn problems(&self) -> Vec<Problem> {
        match self {
            ApiError::InvalidFields(list) if !list.is_empty() => list
                .iter()
                .map(|(field, message)| Problem {
                    code: self.code().to_owned(),
                    message: message.clone(),
                    field: Some(field.clone()),
                })
                .collect(),
            _ => vec![self.problem()],
        }
    }

    fn problem(&self) -> Problem {
        let (message, field) = match self {
            ApiError::InvalidFields(list) => match list.first() {
                Some((f, m)) => (m.clone(), Some(f.clone())),
                None => ("invalid request".to_owned(), None),
            },
            ApiError::Invalid { field, message } => (message.clone(), field.clone()),
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Blocked(m)
            | ApiError::Status(_, _, m) => (m.clone(), None),
            ApiError::Throttled(s) => (format!("too many attempts; retry in {s} s"), None),
            // The detail is logged under the request id, never sent: it may name tables,
            // hosts or data.
            ApiError::Unavailable(_) => (
                format!(
                    "the service is temporarily unavailable; retry later (request id {})",
                    super::hardening::request_id()
                ),
                None,
            ),
            ApiError::Internal(_) => (
                format!(
                    "internal error (request id {})",
                    super::hardening::request_id()
                ),
                None,
            ),
        };
        Problem {
            code: self.code().to_owned(),
            message,
            field,
        }
    }
}

/// For logs and the command line: the detail a response withholds is shown here.
impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Internal(detail) | ApiError::Unavailable(detail) => {
                write!(f, "{}: {detail}", self.code())
            }
            _ => {
                let p = self.problem();
                write!(f, "{}: {}", p.code, p.message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) | ApiError::Unavailable(detail) = &self {
            // The request's span carries its id; the client sees only the id.
            tracing::error!(code = self.code(), detail = %detail, "request failed");
        }
        let status = self.status();
        let body = Envelope {
            code: status.as_u16(),
            data: Value::Null,
            errors: self.problems(),
        };
        let mut response = json_response(status, &body);
        if let ApiError::Throttled(seconds) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { kind, id } => ApiError::NotFound(format!("no {kind} {id:?}")),
            StoreError::MissingReference { .. } | StoreError::Rejected { .. } => {
                ApiError::Invalid {
                    field: None,
                    message: e.to_string(),
                }
            }
            StoreError::Invalid(_) => ApiError::Invalid {
                field: None,
                message: e.to_string(),
            },
            StoreError::Blocked { .. } => ApiError::Blocked(e.to_string()),
            StoreError::Conflict { .. } => ApiError::Conflict(e.to_string()),
            StoreError::InvalidState(_) => ApiError::Conflict(e.to_string()),
            StoreError::Engine(_) => ApiError::Conflict(e.to_string()),
            StoreError::Database(m) => ApiError::Unavailable(m),
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// The API's result type.
pub(crate) type ApiResult<T> = std::result::Result<T, ApiError>;

/// Largest request body accepted (a usage batch of some tens of thousands of rows).
pub(crate) const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// A JSON request body whose object keys match the target's fields case-insensitively
/// (`EmailAddress` fills `emailAddress`), with every error naming the field.
#[derive(Debug)]
pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::Status(
                        e.status(),
                        "payload_too_large",
                        format!("the request body is larger than {BODY_LIMIT} bytes"),
                    )
                } else {
                    ApiError::Invalid {
                        field: None,
                        message: format!("could not read the body: {e}"),
                    }
                }
            })?;
        if !bytes.iter().all(u8::is_ascii_whitespace) && !is_json(content_type.as_deref()) {
            // A JSON body under another type is how cross-site forms and confused
            // proxies smuggle requests: only a declared JSON body is read.
            return Err(ApiError::Status(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be sent as Content-Type: application/json".into(),
            ));
        }
        parse_body(&bytes).map(Body)
    }
}

/// `application/json` or a `+json` type, parameters (`charset=utf-8`) allowed.
fn is_json(content_type: Option<&str>) -> bool {
    let Some(value) = content_type else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// Refuses objects that name a key twice, in any letter case (keys match fields
/// case-insensitively): with "last one wins", `{"emailAddress":"x","EmailAddress":"y"}`
/// would let one part of a system check one value and another use the other.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Walk;
        impl<'de> Visitor<'de> for Walk {
            type Value = NoDuplicateKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen = std::collections::HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.to_lowercase()) {
                        return Err(de::Error::custom(format_args!(
                            "the key {key:?} appears more than once in one object"
                        )));
                    }
                    map.next_value::<NoDuplicateKeys>()?;
                }
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Result::Ok(NoDuplicateKeys)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Result::Ok(NoDuplicateKeys)
            }
        }
        d.deserialize_any(Walk)
    }
}

/// Parses a request body (see [`Body`]).
/// Reads a calendar date `YYYY-MM-DD` exactly as written (surrounding blanks aside):
/// chrono alone also takes `2026-10- 5` or `+2026-1-05`, and dates are stored and
/// compared as their canonical text.
pub(crate) fn date(field: &str, text: &str) -> ApiResult<chrono::NaiveDate> {
    let text = text.trim();
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == text)
        .ok_or_else(|| ApiError::field(field, format!("{text:?} is not a date YYYY-MM-DD")))
}

pub(crate) fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        let not_json = |e: serde_json::Error| ApiError::Invalid {
            field: None,
            message: format!("the body is not JSON: {e}"),
        };
        serde_json::from_slice::<NoDuplicateKeys>(bytes).map_err(not_json)?;
        serde_json::from_slice(bytes).map_err(not_json)?
    };
    serde_path_to_error::deserialize(Loose(value, false)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde reports a missing field at the object that lacks it: name the field
        // itself, so a client (and the portal's form) can point at it.
        let field = match missing_field(&message) {
            Some(name) if path == "." => Some(name.to_owned()),
            Some(name) => Some(format!("{path}.{name}")),
            None => (path != ".").then_some(path),
        };
        ApiError::Invalid { field, message }
    })
}

/// The field named by serde's "missing field `name`" message.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")?
        .split('`')
        .next()
        .filter(|name| !name.is_empty())
}

/// Query parameters (`?page=2&pageSize=50`) with keys matched case-insensitively, as the
/// PowerShell client lower-cases whole URLs; errors name the parameter.
#[derive(Debug)]
pub(crate) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|e| ApiError::Invalid {
                field: None,
                message: format!("the query string is malformed: {e}"),
            })?;
        let map: Map<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        serde_path_to_error::deserialize(Loose(Value::Object(map), true))
            .map(Params)
            .map_err(|e| ApiError::Invalid {
                field: Some(e.path().to_string()),
                message: e.into_inner().to_string(),
            })
    }
}

/// A JSON value deserialized with case-insensitive struct field names; with `.1` set
/// (query strings), text also reads as numbers and booleans.
struct Loose(Value, bool);

impl<'de> IntoDeserializer<'de, serde_json::Error> for Loose {
    type Deserializer = Loose;
    fn into_deserializer(self) -> Loose {
        self
    }
}

macro_rules! coerce_from_text {
    ($($method:ident => $visit:ident: $t:ty),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                match self.0 {
                    Value::String(s) if self.1 => match s.trim().parse::<$t>() {
                        Result::Ok(v) => visitor.$visit(v),
                        Err(_) => Err(de::Error::invalid_value(
                            de::Unexpected::Str(&s),
                            &concat!("a ", stringify!($t)),
                        )),
                    },
                    other => Loose(other, self.1).deserialize_any(visitor),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Loose {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(LooseSeq(items.into_iter(), self.1)),
            Value::Object(map) => visitor.visit_map(LooseMap {
                entries: map.into_iter(),
                value: None,
                fields: &[],
                coerce: self.1,
            }),
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Loose(other, self.1)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(LooseMap {
                entries: map.into_iter(),
                value: None,
                fields,
                coerce: self.1,
            }),
            other => Err(de::Error::invalid_type(unexpected(&other), &"an object")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        // Unit variants match case-insensitively too (`"paid"` = `"Paid"`).
        let value = match self.0 {
            Value::String(s) => Value::String(
                variants
                    .iter()
                    .find(|v| v.eq_ignore_ascii_case(&s))
                    .map_or(s, |v| (*v).to_owned()),
            ),
            other => other,
        };
        value.deserialize_enum(name, variants, visitor)
    }

    coerce_from_text! {
        deserialize_bool => visit_bool: bool,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i128 u8 u16 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct LooseSeq(std::vec::IntoIter<Value>, bool);

impl<'de> SeqAccess<'de> for LooseSeq {
    type Error = serde_json::Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let coerce = self.1;
        self.0
            .next()
            .map(|v| seed.deserialize(Loose(v, coerce)))
            .transpose()
    }
}

struct LooseMap {
    entries: serde_json::map::IntoIter,
    value: Option<Value>,
    fields: &'static [&'static str],
    coerce: bool,
}

impl<'de> MapAccess<'de> for LooseMap {
    type Error = serde_json::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((key, value)) = self.entries.next() else {
            return Result::Ok(None);
        };
        self.value = Some(value);
        let key = self
            .fields
            .iter()
            .find(|f| f.eq_ignore_ascii_case(&key))
            .map_or(key, |f| (*f).to_owned());
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let value = self.value.take().unwrap_or(Value::Null);
        seed.deserialize(Loose(value, self.coerce))
    }
}

/// Paging of list endpoints: `?page=1&pageSize=100`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct Paging {
    /// 1-based page number.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page (at most 1000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub page_size: Option<u32>,
}

impl Paging {
    /// The slice of `items` this page shows.
    pub(crate) fn apply<T>(self, items: Vec<T>) -> ApiResult<Vec<T>> {
        let size = self.page_size.unwrap_or(100);
        let page = self.page.unwrap_or(1);
        if !(1..=1000).contains(&size) {
            return Err(ApiError::field("pageSize", "must be between 1 and 1000"));
        }
        if page == 0 {
            return Err(ApiError::field("page", "pages start at 1"));
        }
        let skip = (page as usize)
            .saturating_sub(1)
            .saturating_mul(size as usize);
        Result::Ok(items.into_iter().skip(skip).take(size as usize).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Login {
        email_address: String,
        password: String,
        mfa_code: Option<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        page_size: u32,
    }

    #[test]
    fn keys_match_case_insensitively_at_every_depth() {
        let body = br#"{"EmailAddress":"a@b.c","PASSWORD":"x","inner":{"PageSize":3}}"#;
        let login: Login = parse_body(body).unwrap();
        assert_eq!(login.email_address, "a@b.c");
        assert_eq!(login.password, "x");
        assert_eq!(login.inner, Some(Inner { page_size: 3 }));
        assert_eq!(login.mfa_code, None);
    }

    #[test]
    fn a_missing_field_is_named_where_it_is_missing() {
        let field = |body: &[u8]| match parse_body::<Login>(body).unwrap_err() {
            ApiError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(br#"{"emailAddress":"a@b.c"}"#).as_deref(),
            Some("password")
        );
        assert_eq!(
            field(br#"{"emailAddress":"a@b.c","password":"x","inner":{}}"#).as_deref(),
            Some("inner.pageSize")
        );
    }

    #[test]
    fn duplicate_keys_are_refused_at_every_depth_and_in_any_case() {
        for body in [
            &br#"{"emailAddress":"x","emailAddress":"admin@x.test","password":"p"}"#[..],
            br#"{"emailAddress":"x","EMAILADDRESS":"y","password":"p"}"#,
            br#"{"emailAddress":"x","password":"p","inner":{"pageSize":1,"pagesize":2}}"#,
        ] {
            let e = parse_body::<Login>(body).unwrap_err();
            assert!(e.to_string().contains("more than once"), "{e}");
        }
        assert!(
            parse_body::<Login>(br#"{"emailAddress":"x","password":"p","inner":{"pageSize":1e3}}"#)
                .is_err()
        );
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/problem+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_body::<Login>(
            br#"{"emailAddress":"a","password":"x","inner":{"pageSize":"many"}}"#,
        )
        .unwrap_err();
        match e {
            ApiError::Invalid { field, .. } => assert_eq!(field.as_deref(), Some("inner.pageSize")),
            other => panic!("{other:?}"),
        }
        let e = parse_body::<Login>(br#"{"password":"x"}"#).unwrap_err();
        assert!(e.to_string().contains("emailAddress"), "{e}");
        let e =
            parse_body::<Login>(br#"{"emailAddress":"a","password":"x","extra":1}"#).unwrap_err();
        assert!(e.to_string().contains("extra"), "{e}");
        assert!(matches!(
            parse_body::<Login>(b"{not json"),
            Err(ApiError::Invalid { field: None, .. })
        ));
    }
}
