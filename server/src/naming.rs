//! Naming overrides: an operator who runs StackBill for internal chargeback shows
//! "Tenant" as "Department" (System Settings → Branding → `tenantTerm`, and likewise
//! `distributorTerm`, `partnerTerm`, `subscriptionTerm`) on every label of the portal.
//!
//! A term is "Department" or "Department / Departments" (the plural defaults to the
//! singular with an "s"). The portal renames whole words in the text of its pages after
//! they are rendered — headings, navigation, labels, buttons, table headers, messages —
//! so no label can be missed, and leaves alone what a person types or copies: attribute
//! values (links, form values), `textarea`, `pre`, `code`, `script` and `style`, elements
//! marked `translate="no"` (the portal's data cells), and any word joined to an
//! identifier (`tenant-01`, `tenant_id`, `tenant@example.com`, `tenants/`). The API,
//! CSV exports and invoice documents keep the standard names: they are contracts.

use serde_json::Value;

/// The settings keys of the four renamable terms and the words they rename.
pub(crate) const TERMS: [(&str, &str); 4] = [
    ("distributorTerm", "Distributor"),
    ("partnerTerm", "Partner"),
    ("tenantTerm", "Tenant"),
    ("subscriptionTerm", "Subscription"),
];

const MAX_WORD: usize = 40;

/// A term's singular and plural from its setting, or why it cannot be one.
pub(crate) fn parse(text: &str) -> Result<(String, String), String> {
    let (singular, plural) = match text.split_once('/') {
        Some((s, p)) => (s.trim(), Some(p.trim())),
        None => (text.trim(), None),
    };
    for part in [Some(singular), plural].into_iter().flatten() {
        let length = part.chars().count();
        if length == 0 || length > MAX_WORD {
            return Err(format!(
                "must be a name of 1 to {MAX_WORD} characters, or a singular and plural as \"Department / Departments\""
            ));
        }
        let good = |c: char| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '&');
        if !part.chars().next().is_some_and(char::is_alphabetic) || !part.chars().all(good) {
            return Err(
                "may hold letters, spaces, hyphens, apostrophes and ampersands, starting with a letter"
                    .into(),
            );
        }
    }
    let plural = plural.map_or_else(|| format!("{singular}s"), str::to_owned);
    Ok((singular.to_owned(), plural))
}

/// The term as stored: trimmed, the plural kept only when given.
pub(crate) fn normalise(text: &str) -> Result<String, String> {
    parse(text)?;
    Ok(match text.split_once('/') {
        Some((s, p)) => format!("{} / {}", s.trim(), p.trim()),
        None => text.trim().to_owned(),
    })
}

/// The words a page's text renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Naming {
    words: Vec<(String, String)>,
}

impl Naming {
    /// The overrides in the Branding settings; `None` when none is set (pages are then
    /// sent as rendered).
    pub(crate) fn of(branding: &Value) -> Option<Naming> {
        let mut words = Vec::new();
        for (key, word) in TERMS {
            let Some((singular, plural)) = branding[key].as_str().and_then(|t| parse(t).ok())
            else {
                continue;
            };
            let plural_word = format!("{word}s");
            words.push((word.to_owned(), singular.clone()));
            words.push((plural_word.clone(), plural.clone()));
            words.push((word.to_lowercase(), in_a_sentence(&singular)));
            words.push((plural_word.to_lowercase(), in_a_sentence(&plural)));
        }
        (!words.is_empty()).then_some(Naming { words })
    }

    fn replacement(&self, word: &str) -> Option<&str> {
        self.words
            .iter()
            .find(|(from, _)| from == word)
            .map(|(_, to)| to.as_str())
    }

    /// `html` with the terms renamed in its text.
    pub(crate) fn apply(&self, html: &str) -> String {
        let mut out = String::with_capacity(html.len().saturating_add(html.len() / 16));
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            self.text(&rest[..open], &mut out);
            rest = &rest[open..];
            let end = tag_end(rest);
            let tag = &rest[..end];
            out.push_str(tag);
            rest = &rest[end..];
            if let Some(name) = verbatim(tag) {
                let close = find_close(rest, name).unwrap_or(rest.len());
                out.push_str(&rest[..close]);
                rest = &rest[close..];
            }
        }
        self.text(rest, &mut out);
        out
    }

    fn text(&self, text: &str, out: &mut String) {
        let bytes = text.as_bytes();
        let mut copied = 0;
        let mut word_start = None;
        // A trailing space ends the last word.
        for (i, b) in bytes.iter().chain([b' '].iter()).enumerate() {
            match (b.is_ascii_alphabetic(), word_start) {
                (true, None) => word_start = Some(i),
                (false, Some(start)) => {
                    word_start = None;
                    let before = start.checked_sub(1).map(|p| bytes[p]);
                    let after = bytes.get(i).copied();
                    let after_next = bytes.get(i.saturating_add(1)).copied();
                    if stands_alone(before, after, after_next)
                        && let Some(to) = self.replacement(&text[start..i])
                    {
                        out.push_str(&text[copied..start]);
                        out.push_str(&escape(to));
                        copied = i;
                    }
                }
                _ => {}
            }
        }
        out.push_str(&text[copied..]);
    }
}

/// A term as written mid-sentence: each capitalised word lower-cased ("Cost Centre" →
/// "cost centre"), acronyms kept ("IT Unit" → "IT unit").
fn in_a_sentence(term: &str) -> String {
    term.split(' ')
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) if first.is_uppercase() && !chars.any(char::is_uppercase) => {
                    w.to_lowercase()
                }
                _ => w.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a word between these bytes is prose rather than part of an identifier, an
/// address or a path.
fn stands_alone(before: Option<u8>, after: Option<u8>, after_next: Option<u8>) -> bool {
    let joins = |b: u8| b.is_ascii_alphanumeric() || !b.is_ascii() || b"-_@/\\=#$%+~".contains(&b);
    let before_ok = before.is_none_or(|b| !joins(b) && b != b'.');
    let after_ok = after.is_none_or(|b| {
        !joins(b) && (b != b'.' || after_next.is_none_or(|n| !n.is_ascii_alphanumeric()))
    });
    before_ok && after_ok
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('\'', "&#39;")
}

/// The length of the tag at the start of `html` (through its `>`, quotes respected).
fn tag_end(html: &str) -> usize {
    let mut quote = None;
    for (i, b) in html.bytes().enumerate().skip(1) {
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return i.saturating_add(1),
            _ => {}
        }
    }
    html.len()
}

/// The name of an element whose content is kept as written, when `tag` opens one.
fn verbatim(tag: &str) -> Option<&str> {
    let inner = tag.strip_prefix('<')?;
    if inner.starts_with('/') || inner.starts_with('!') || tag.ends_with("/>") {
        return None;
    }
    let name_end = inner
        .find(|c: char| c.is_ascii_whitespace() || c == '>')
        .unwrap_or(inner.len());
    let name = &inner[..name_end];
    let always = ["textarea", "pre", "code", "script", "style"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name));
    (always || inner.contains("translate=\"no\"")).then_some(name)
}

/// Where the `</name` that closes an element starts in `html` (same-name elements do
/// not nest in the portal's data cells).
fn find_close(html: &str, name: &str) -> Option<usize> {
    html.match_indices("</").map(|(at, _)| at).find(|&at| {
        html.get(at.saturating_add(2)..)
            .and_then(|rest| rest.get(..name.len()))
            .is_some_and(|tag| tag.eq_ignore_ascii_case(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn naming() -> Naming {
        Naming::of(
            &json!({"tenantTerm": "Department", "subscriptionTerm": "Cost Centre / Cost Centres"}),
        )
        .unwrap()
    }

    #[test]
    fn labels_are_renamed_in_every_form() {
        let html = "<h1>Tenants</h1><p>Add a tenant. Its subscriptions.</p><th>Tenant</th>";
        assert_eq!(
            naming().apply(html),
            "<h1>Departments</h1><p>Add a department. Its cost centres.</p><th>Department</th>"
        );
    }

    #[test]
    fn what_a_person_types_or_copies_is_left_alone() {
        let html = concat!(
            "<a href=\"/tenants\" title=\"x\">Tenants</a>",
            "<input name=\"tenant\" value=\"Tenant\">",
            "<textarea>tenant: 1</textarea><td translate=\"no\">Tenant Zero</td>",
            "<p>tenant-01 tenant_id tenant@example.com /tenants/ tenant.example TenantAdministrator</p>",
            "<code>tenant</code><p>the tenant.</p>"
        );
        assert_eq!(
            naming().apply(html),
            concat!(
                "<a href=\"/tenants\" title=\"x\">Departments</a>",
                "<input name=\"tenant\" value=\"Tenant\">",
                "<textarea>tenant: 1</textarea><td translate=\"no\">Tenant Zero</td>",
                "<p>tenant-01 tenant_id tenant@example.com /tenants/ tenant.example TenantAdministrator</p>",
                "<code>tenant</code><p>the department.</p>"
            )
        );
    }

    #[test]
    fn terms_are_checked_and_their_plural_defaults() {
        assert_eq!(
            parse("Department").unwrap(),
            ("Department".into(), "Departments".into())
        );
        assert_eq!(
            parse(" Business Unit /Business Units ").unwrap(),
            ("Business Unit".into(), "Business Units".into())
        );
        assert_eq!(normalise("A/B").unwrap(), "A / B");
        for bad in ["", " / x", "<b>", "1st", &"x".repeat(41)] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(in_a_sentence("IT Unit"), "IT unit");
        assert_eq!(
            naming().apply("<TEXTAREA>tenant</TEXTAREA> tenant"),
            "<TEXTAREA>tenant</TEXTAREA> department"
        );
        assert!(Naming::of(&json!({"tenantTerm": null})).is_none());
    }
}
