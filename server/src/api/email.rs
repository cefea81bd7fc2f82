//! E-mail addresses as account names. An address is stored in Unicode normalisation form
//! NFKC, so fullwidth letters, ligatures and decomposed accents become one spelling, and
//! refused when it still holds characters made to deceive: invisible or formatting
//! characters (zero-width space, bidi controls), stray combining marks, or letters of
//! several scripts in one part (`аdmin` with a Cyrillic `а`). Two addresses whose UTS #39
//! confusable skeletons match are the same account name ([`skeleton`]).

use unicode_general_category::{GeneralCategory, get_general_category};
use unicode_normalization::UnicodeNormalization;
use unicode_security::MixedScript;

use super::wire::{ApiError, ApiResult};

/// The form an address is compared in when signing in and counting failures: NFKC,
/// lower case, trimmed.
pub(crate) fn key(email: &str) -> String {
    email.trim().nfkc().collect::<String>().to_lowercase()
}

/// The UTS #39 skeleton of an address's key: equal skeletons look alike.
pub(crate) fn skeleton(email: &str) -> String {
    unicode_security::skeleton(&key(email)).collect::<String>()
}

/// Checks an address and returns it as stored (NFKC, trimmed, case kept).
pub(crate) fn valid(field: &str, email: &str) -> ApiResult<String> {
    let email: String = email.trim().nfkc().collect();
    let refuse = |why: &str| Err(ApiError::field(field, why.to_owned()));
    let Some((local, domain)) = email.rsplit_once('@') else {
        return refuse("must be an e-mail address");
    };
    let shaped = email.len() <= 320
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !local.contains('@');
    if !shaped {
        return refuse("must be an e-mail address");
    }
    if let Some(c) = email.chars().find(|c| deceptive(*c)) {
        return refuse(&format!(
            "must not contain invisible, control, spacing or combining characters (found U+{:04X})",
            u32::from(c)
        ));
    }
    let single_script = std::iter::once(local)
        .chain(domain.split('.'))
        .all(MixedScript::is_single_script);
    if !single_script {
        return refuse("must not mix letters of different scripts in one part");
    }
    Ok(email)
}

/// Characters no legitimate address needs and that make two addresses look alike.
fn deceptive(c: char) -> bool {
    use GeneralCategory as G;
    matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::Surrogate
            | G::PrivateUse
            | G::Unassigned
            | G::NonspacingMark
            | G::EnclosingMark
            | G::SpaceSeparator
            | G::LineSeparator
            | G::ParagraphSeparator
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookalikes_are_one_name_or_refused() {
        // Fullwidth letters normalise to ASCII.
        assert_eq!(
            valid("e", "ａｄｍｉｎ@stackbill.test").unwrap(),
            "admin@stackbill.test"
        );
        // A decomposed accent composes.
        assert_eq!(
            valid("e", "jose\u{301}@example.test").unwrap(),
            "jos\u{e9}@example.test"
        );
        for bad in [
            "ad\u{200b}min@stackbill.test",
            "admin\u{202e}@stackbill.test",
            "\u{430}dmin@stackbill.test",
            "admin@st\u{430}ckbill.test",
            "a\u{20dd}dmin@stackbill.test",
            "ad min@stackbill.test",
            "admin@stackbill",
            "admin@@stackbill.test",
        ] {
            assert!(valid("e", bad).is_err(), "{bad:?} accepted");
        }
        // An all-Cyrillic name is one script, but looks like a Latin one.
        assert!(valid("e", "\u{441}\u{43e}\u{440}\u{435}@x.test").is_ok());
        assert_eq!(
            skeleton("\u{441}\u{43e}\u{440}\u{435}@x.test"),
            skeleton("cope@x.test")
        );
        assert_eq!(skeleton("Admin@X.test"), skeleton("admin@x.test"));
        assert_eq!(key(" ＡＤＭＩＮ@x.test "), "admin@x.test");
    }
}
