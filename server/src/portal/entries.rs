//! A setting that is a list of flat records (identity providers, alert targets) edited
//! as text: one record per line, written `field=value; field=value`. Values are trimmed
//! and cannot hold `;`, which no provider or target field needs (URLs, addresses,
//! credential references, names). The API checks each record and names
//! `providers[2].issuer`; the portal says "line 3, issuer" next to the box.

use serde_json::{Map, Value};

/// The settings edited this way, with the hint shown under their box.
pub(crate) const LISTS: &[(&str, &str)] = &[
    (
        "providers",
        "One identity provider per line: kind=entra or google; issuer=…; audience=…; jwksUri=…; optionally clientId=…; clientSecretRef=env:NAME; authorizationEndpoint=…; tokenEndpoint=…",
    ),
    (
        "alertTargets",
        "One alert target per line: name=…; kind=email, webhook, syslog, splunk or azureMonitor; then address=… (email, syslog HOST:PORT) or url=…; secretRef=env:NAME (the others).",
    ),
];

/// The hint of list setting `key`, `None` when `key` is not one.
pub(crate) fn hint(key: &str) -> Option<&'static str> {
    LISTS.iter().find(|(k, _)| *k == key).map(|(_, h)| *h)
}

/// The records of `value` as lines.
pub(crate) fn write(value: &Value) -> String {
    let Some(records) = value.as_array() else {
        return String::new();
    };
    records
        .iter()
        .map(|r| {
            r.as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| match v {
                            Value::String(s) => format!("{k}={s}"),
                            other => format!("{k}={other}"),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The records `text` writes, or which line is not `field=value; …` and why.
pub(crate) fn read(text: &str) -> Result<Value, String> {
    let mut records = Vec::new();
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    for (n, line) in (1_usize..).zip(lines) {
        let mut record = Map::new();
        for part in line.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                return Err(format!("line {n}: {part:?} is not field=value"));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(format!("line {n}: {part:?} has no field name"));
            }
            if record
                .insert(key.to_owned(), Value::String(value.trim().to_owned()))
                .is_some()
            {
                return Err(format!("line {n}: {key} is given twice"));
            }
        }
        records.push(Value::Object(record));
    }
    Ok(Value::Array(records))
}

/// The API's error for `field` (`providers[2].issuer`, `providers`) of list `key` as
/// the box shows it ("line 3, issuer: …"); `None` when it is about another setting.
pub(crate) fn error(key: &str, field: &str, message: &str) -> Option<String> {
    if field == key {
        return Some(message.to_owned());
    }
    let rest = field.strip_prefix(key)?.strip_prefix('[')?;
    let (index, after) = rest.split_once(']')?;
    let line = index.parse::<usize>().ok()?.saturating_add(1);
    match after.strip_prefix('.') {
        Some(name) => Some(format!("line {line}, {name}: {message}")),
        None => Some(format!("line {line}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_survive_the_text_and_back() {
        let value = json!([
            {"kind": "entra", "issuer": "https://login.example/t/v2.0", "audience": "api://sb"},
            {"kind": "google", "issuer": "https://accounts.google.com", "audience": "x"}
        ]);
        let text = write(&value);
        assert_eq!(
            text.lines().next(),
            Some("kind=entra; issuer=https://login.example/t/v2.0; audience=api://sb")
        );
        assert_eq!(read(&text), Ok(value));
        assert_eq!(read("\n  \n"), Ok(json!([])));
        assert_eq!(
            read("name=ops; kind=email;; address = ops@example.test "),
            Ok(json!([{"name": "ops", "kind": "email", "address": "ops@example.test"}]))
        );
    }

    #[test]
    fn a_bad_line_is_named() {
        assert_eq!(
            read("name=a\nkind email"),
            Err("line 2: \"kind email\" is not field=value".into())
        );
        assert_eq!(
            read("name=a; name=b"),
            Err("line 1: name is given twice".into())
        );
        assert_eq!(read("=x"), Err("line 1: \"=x\" has no field name".into()));
    }

    #[test]
    fn api_errors_point_at_lines() {
        assert_eq!(
            error("providers", "providers[2].issuer", "is required"),
            Some("line 3, issuer: is required".into())
        );
        assert_eq!(
            error("alertTargets", "alertTargets[0]", "must be an object"),
            Some("line 1: must be an object".into())
        );
        assert_eq!(error("providers", "providers", "x"), Some("x".into()));
        assert_eq!(error("providers", "providersX[0].a", "x"), None);
        assert_eq!(error("providers", "smtpHost", "x"), None);
    }
}
