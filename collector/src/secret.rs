//! Secrets named by reference. A region stores where its client secret lives, never the
//! secret: `env:NAME` (an environment variable of the collecting process whose name ends
//! in `_SECRET`) or `file:PATH` (a file inside the secrets folder, `$STACKBILL_SECRETS_DIR`
//! or `/run/secrets`, trailing newline ignored, as Kubernetes and systemd credentials
//! mount them). The limits keep a region's settings from sending any other variable or
//! file of the server (its database URL, its key file) to a login endpoint as a secret.

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

/// Where `file:` secrets may live.
fn secrets_dir() -> std::path::PathBuf {
    std::env::var_os("STACKBILL_SECRETS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/run/secrets"))
}

/// Checks a reference's form without reading it (what a region may be saved with).
pub fn check_reference(reference: &str) -> Result<(), CollectError> {
    let bad = |why: String| CollectError::Config {
        field: "credentialRef",
        message: why,
    };
    match reference.split_once(':') {
        Some(("env", name)) => {
            let ok = name.len() > "_SECRET".len()
                && name.ends_with("_SECRET")
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if ok {
                Ok(())
            } else {
                Err(bad(format!(
                    "env:{name}: the variable's name must be upper case and end in _SECRET"
                )))
            }
        }
        Some(("file", path)) if path.starts_with('/') && !path.contains("/../") => Ok(()),
        Some(("file", path)) => Err(bad(format!("file:{path}: must be an absolute path"))),
        Some(("vault", _)) => Err(bad(
            "vault: references are not readable by the collector; use env:NAME_SECRET or file:PATH"
                .into(),
        )),
        _ => Err(bad("must be env:NAME_SECRET or file:PATH".into())),
    }
}

/// Reads the secret a reference names.
pub fn resolve(reference: &str) -> Result<Secret, CollectError> {
    resolve_in(reference, &secrets_dir())
}

/// Reads the secret a reference names, `file:` references only inside `dir`.
pub fn resolve_in(reference: &str, dir: &std::path::Path) -> Result<Secret, CollectError> {
    check_reference(reference)?;
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
        "file" => {
            let path =
                std::fs::canonicalize(name).map_err(|e| bad(format!("cannot read {name}: {e}")))?;
            let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            if !path.starts_with(&root) {
                return Err(bad(format!(
                    "{name} is outside the secrets folder {} (STACKBILL_SECRETS_DIR)",
                    root.display()
                )));
            }
            std::fs::read_to_string(&path)
                .map_err(|e| bad(format!("cannot read {name}: {e}")))?
                .trim_end_matches(['\r', '\n'])
                .to_owned()
        }
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
        let s = resolve_in(&format!("file:{}", file.display()), &dir).expect("file");
        assert_eq!(s.expose(), "s3cr3t");
        assert!(!format!("{s:?}").contains("s3cr3t"));
        // Outside the secrets folder, or a variable not named as a secret: refused.
        let other = std::env::temp_dir();
        assert!(
            resolve_in(
                &format!("file:{}", file.display()),
                &other.join("elsewhere")
            )
            .is_err()
        );
        assert!(resolve("env:DATABASE_URL").is_err());
        assert!(resolve("env:STACKBILL_DATABASE").is_err());
        assert!(resolve("file:relative/path").is_err());
        assert!(resolve("env:STACKBILL_SURELY_UNSET_SECRET").is_err());
        assert!(resolve("vault:x").is_err());
        assert!(resolve("s3cr3t").is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
