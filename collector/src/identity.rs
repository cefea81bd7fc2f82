//! The identity of a collected row.
//!
//! The API's own `id` and `name` repeat for every resource of a (subscription, meter), so
//! a row is named by what makes it distinct: region, subscription, canonical meter,
//! normalised resource, VM size, usage start and end, and the reported window it arrived
//! in. Collecting a window again gives every row the id it had, so the store counts it as
//! a duplicate and nothing changes; a row for the same usage hour that is reported late,
//! in a later window, has another id and is added, never overwriting what came first.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::page::Aggregate;

/// Names the rows of one reported window.
#[derive(Debug)]
pub struct Identities<'a> {
    region: &'a str,
    window: (i64, i64),
    /// How often each id was given in this window: the API has not been seen to send two
    /// rows that agree on every identifying field, but if it does, the later ones are
    /// numbered in arrival order instead of replacing the first.
    seen: HashMap<String, u32>,
}

fn field(h: &mut Sha256, value: &[u8]) {
    h.update((value.len() as u64).to_le_bytes());
    h.update(value);
}

impl<'a> Identities<'a> {
    /// Ids for rows of `region` reported in `window` (Unix nanoseconds `[start, end)`).
    pub fn new(region: &'a str, window: (i64, i64)) -> Self {
        Identities {
            region,
            window,
            seen: HashMap::new(),
        }
    }

    /// The id of `row`: `az-` and 40 hex digits of a SHA-256 over the identifying fields,
    /// each length-prefixed (so no two field lists hash alike), with `~N` appended to the
    /// N-th repeat within the window.
    pub fn id(&mut self, row: &Aggregate) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut h = Sha256::new();
        field(&mut h, self.region.as_bytes());
        field(&mut h, row.subscription.as_bytes());
        field(&mut h, row.meter.as_bytes());
        field(&mut h, row.resource.as_deref().unwrap_or("").as_bytes());
        field(&mut h, row.sku.as_deref().unwrap_or("").as_bytes());
        for n in [row.start_ns, row.end_ns, self.window.0, self.window.1] {
            h.update(n.to_le_bytes());
        }
        let digest = h.finalize();
        let mut id = String::with_capacity(48);
        id.push_str("az-");
        for b in &digest[..20] {
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 15)]));
        }
        let n = self.seen.entry(id.clone()).or_insert(0);
        *n = n.saturating_add(1);
        if *n > 1 {
            id.push('~');
            id.push_str(&n.to_string());
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(resource: &str) -> Aggregate {
        Aggregate {
            subscription: "s".into(),
            meter: "m".into(),
            sku: None,
            resource: Some(resource.into()),
            start_ns: 0,
            end_ns: 3_600_000_000_000,
            quantity: "1".into(),
            location: None,
        }
    }

    #[test]
    fn ids_depend_on_the_identifying_fields_only() {
        let w = (0, 3_600_000_000_000);
        let a = Identities::new("r", w).id(&agg("/a"));
        let mut other_quantity = agg("/a");
        other_quantity.quantity = "2".into();
        assert_eq!(Identities::new("r", w).id(&other_quantity), a);
        assert_ne!(Identities::new("r", w).id(&agg("/b")), a);
        assert_ne!(Identities::new("r2", w).id(&agg("/a")), a);
        assert_ne!(
            Identities::new("r", (w.1, 2 * w.1)).id(&agg("/a")),
            a,
            "a later window adds"
        );
        let mut ids = Identities::new("r", w);
        assert_eq!(ids.id(&agg("/a")), a);
        assert_eq!(ids.id(&agg("/a")), format!("{a}~2"));
    }
}
