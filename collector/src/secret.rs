//! Secrets named by reference. A region stores where its client secret lives, never the
//! secret: `env:NAME` (an environment variable of the collecting process) or `file:PATH`
//! (a file, trailing newline ignored, as Kubernetes and systemd credentials mount them).

use std::fmt;

use crate::CollectError;

/// A resolved secret. Its `Debug` never shows the value, so it cannot reach a log.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Reads the secret a reference names.
pub fn resolve(reference: &str) -> Result<Secret, CollectError> {
    let bad = |why: String| CollectError::Config {
        field: "credentialRef",
        message: why,
    };
    let (scheme, name) = reference
        .split_once(':')
        .ok_or_else(|| bad("must be env:NAME or file:PATH".into()))?;
    let value = match scheme {
        "env" => std::env::var(name)
            .map_err(|_| bad(format!("environment variable {name} is not set")))?,
        "file" => std::fs::read_to_string(name)
            .map_err(|e| bad(format!("cannot read {name}: {e}")))?
            .trim_end_matches(['\r', '\n'])
            .to_owned(),
        "vault" => {
            return Err(bad(
                "vault: references are not readable by the collector; use env:NAME or file:PATH"
                    .into(),
            ));
        }
        other => {
            return Err(bad(format!(
                "unknown scheme {other:?}; use env:NAME or file:PATH"
            )));
        }
    };
    if value.is_empty() {
        return Err(bad(format!("{reference} is empty")));
    }
    Ok(Secret(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_and_never_print() {
        let dir = std::env::temp_dir().join(format!("sb-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("s");
        std::fs::write(&file, "s3cr3t\n").expect("write");
        let s = resolve(&format!("file:{}", file.display())).expect("file");
        assert_eq!(s.expose(), "s3cr3t");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert!(resolve("env:STACKBILL_SURELY_UNSET_VARIABLE").is_err());
        assert!(resolve("vault:x").is_err());
        assert!(resolve("s3cr3t").is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
