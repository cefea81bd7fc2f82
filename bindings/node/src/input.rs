//! What JavaScript hands over, turned into what the engine reads: a scenario (an object,
//! JSON text or a path) becomes JSON text, usage (a path, paths, or an iterable of usage
//! objects) becomes files or NDJSON lines. Objects are serialised by JavaScript's own
//! `JSON.stringify`, so a number reaches the engine exactly as JavaScript prints it (and a
//! `Date` as its ISO text); a 28-digit amount must be a string, as in the JSON contract.

use std::path::PathBuf;

use napi::bindgen_prelude::{
    Array, Function, JsObjectValue, JsValue, Object, ToNapiValue, Unknown,
};
use napi::{Env, JSON, ValueType};

use crate::error::Failure;

/// A scenario as JSON text, or the path of a scenario file.
#[derive(Debug)]
pub(crate) enum Scenario {
    Text(String),
    Path(PathBuf),
}

impl Scenario {
    /// Reads `value`: an object (serialised), JSON text (starts with `{`) or a path.
    pub(crate) fn from_js(env: &Env, value: Unknown<'_>) -> Result<Self, Failure> {
        match value.get_type()? {
            ValueType::String => {
                // Reading a value of type string as a string cannot fail.
                let text: String = value.coerce_to_string()?.into_utf8()?.into_owned()?;
                if text.trim_start().starts_with('{') {
                    Ok(Scenario::Text(text))
                } else {
                    Ok(Scenario::Path(PathBuf::from(text)))
                }
            }
            ValueType::Object => Ok(Scenario::Text(stringify(env, value)?)),
            other => Err(Failure::Internal(format!(
                "scenario must be an object, JSON text or a path, not {other}"
            ))),
        }
    }

    /// The JSON text, read from disk for a path.
    pub(crate) fn text(&self) -> Result<std::borrow::Cow<'_, str>, Failure> {
        match self {
            Scenario::Text(t) => Ok(t.into()),
            Scenario::Path(p) => {
                std::fs::read_to_string(p)
                    .map(Into::into)
                    .map_err(|e| Failure::Unreadable {
                        what: p.display().to_string(),
                        error: e.to_string(),
                    })
            }
        }
    }
}

/// Usage added after the scenario's own.
#[derive(Debug, Default)]
pub(crate) enum Usage {
    #[default]
    None,
    /// CSV or NDJSON files (optionally gzipped), read on every core.
    Files(Vec<PathBuf>),
    /// One usage object per entry, as JSON text.
    Lines(Vec<String>),
}

impl Usage {
    /// Reads the `usage` option: a path, an array of paths, or an iterable of objects.
    pub(crate) fn from_js(env: &Env, value: Option<Unknown<'_>>) -> Result<Self, Failure> {
        let Some(value) = value else {
            return Ok(Usage::None);
        };
        match value.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(Usage::None),
            ValueType::String => Ok(Usage::Files(vec![PathBuf::from(
                value.coerce_to_string()?.into_utf8()?.into_owned()?,
            )])),
            ValueType::Object => Self::from_iterable(env, value),
            other => Err(Failure::Internal(format!(
                "usage must be a path, an array of paths or an iterable of usage objects, not {other}"
            ))),
        }
    }

    fn from_iterable(env: &Env, value: Unknown<'_>) -> Result<Self, Failure> {
        // `Array.from` walks any iterable (arrays, generators, Sets) with JavaScript's own
        // protocol; a plain object is not iterable and gives an empty array, so refuse it.
        let iterable = value.is_array()?
            || global(env, "Symbol")?
                .get_named_property_unchecked::<Unknown<'_>>("iterator")
                .and_then(|symbol| value_object(value)?.has_property_js(symbol))?;
        if !iterable {
            return Err(Failure::Internal(
                "usage must be a path, an array of paths or an iterable of usage objects, \
                 not a single object"
                    .into(),
            ));
        }
        let from: Function<'_, Unknown<'_>, Array<'_>> =
            global(env, "Array")?.get_named_property_unchecked("from")?;
        let array = from.apply(global(env, "Array")?, value)?;
        let mut files = Vec::new();
        let mut lines = Vec::new();
        for i in 0..array.len() {
            let item: Unknown<'_> = array.get_element(i)?;
            match item.get_type()? {
                ValueType::String => files.push(PathBuf::from(
                    item.coerce_to_string()?.into_utf8()?.into_owned()?,
                )),
                ValueType::Object => lines.push(stringify(env, item)?),
                other => {
                    return Err(Failure::Internal(format!(
                        "usage[{i}] must be a path or a usage object, not {other}"
                    )));
                }
            }
        }
        match (files.is_empty(), lines.is_empty()) {
            (false, false) => Err(Failure::Internal(
                "usage mixes paths and usage objects; give one or the other".into(),
            )),
            (false, true) => Ok(Usage::Files(files)),
            _ => Ok(Usage::Lines(lines)),
        }
    }
}

fn global<'e>(env: &'e Env, name: &str) -> napi::Result<Object<'e>> {
    env.get_global()?.get_named_property_unchecked(name)
}

fn value_object(value: Unknown<'_>) -> napi::Result<Object<'_>> {
    value.coerce_to_object()
}

/// `JSON.stringify(value)`; a value it cannot serialise (a `BigInt`, a cycle) is a
/// `StackBillError` naming JavaScript's reason.
pub(crate) fn stringify<V: ToNapiValue>(env: &Env, value: V) -> Result<String, Failure> {
    let json: JSON<'_> = env.get_global()?.get_named_property_unchecked("JSON")?;
    json.stringify(value)
        .map_err(|e| Failure::Internal(format!("not JSON-serialisable: {}", e.reason)))
}
