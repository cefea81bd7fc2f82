//! Meter ids and their canonical spelling.
//!
//! Azure Stack reports meter GUIDs in several spellings (upper case, braces, no hyphens);
//! price lists are typed by people. Canonicalising both before any comparison means a
//! price is never missed because of how a GUID was written.

use std::fmt;
use std::sync::Arc;

/// A canonical meter id: a lower-case hyphenated GUID, or any other id lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MeterId(Arc<str>);

impl MeterId {
    /// Canonicalises `raw` (billing-semantics §3).
    pub fn new(raw: &str) -> Self {
        Self(Arc::from(canonical_meter(raw)))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MeterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for MeterId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// An id that is 32 hex digits once hyphens and braces are removed becomes a lower-case
/// hyphenated GUID; any other id is lower-cased.
pub fn canonical_meter(raw: &str) -> String {
    let mut hex = [0u8; 32];
    let mut n = 0;
    let mut is_guid = true;
    for b in raw.bytes() {
        match b {
            b'-' | b'{' | b'}' => {}
            _ if b.is_ascii_hexdigit() && n < 32 => {
                hex[n] = b.to_ascii_lowercase();
                n = n.saturating_add(1);
            }
            _ => {
                is_guid = false;
                break;
            }
        }
    }
    if is_guid && n == 32 {
        let mut out = String::with_capacity(36);
        for (i, &b) in hex.iter().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            out.push(char::from(b));
        }
        out
    } else {
        raw.to_lowercase()
    }
}

/// Whether `raw` is already canonical, so callers can skip an allocation.
pub fn is_canonical(raw: &str) -> bool {
    canonical_meter(raw) == raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_a_guid_agree() {
        let want = "f271a8a3-88c4-4d93-956a-063e1d2fa80b";
        for raw in [
            "F271A8A388C44D93956A063E1D2FA80B",
            "f271a8a3-88c4-4d93-956a-063e1d2fa80b",
            "{F271A8A3-88C4-4D93-956A-063E1D2FA80B}",
            "{f271a8a388c44d93956a063e1d2fa80b}",
        ] {
            assert_eq!(canonical_meter(raw), want, "{raw}");
        }
    }

    #[test]
    fn other_ids_are_lower_cased() {
        assert_eq!(canonical_meter("VM-Size-Hours"), "vm-size-hours");
        assert_eq!(
            canonical_meter("F271A8A388C44D93956A063E1D2FA80"),
            "f271a8a388c44d93956a063e1d2fa80"
        );
        assert_eq!(
            canonical_meter("F271A8A388C44D93956A063E1D2FA80BB"),
            "f271a8a388c44d93956a063e1d2fa80bb"
        );
        assert_eq!(canonical_meter(""), "");
    }
}
