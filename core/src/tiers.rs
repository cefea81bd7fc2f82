//! Tiered schedules: graduated and volume bands over a quantity (or, for commissions,
//! over a money base).
//!
//! Bands are validated on construction (start at 0, contiguous, strictly increasing,
//! unbounded last) so [`Tiers::apply`] never meets a gap or an overlap.

use rust_decimal::Decimal;

use crate::error::Overflow;

/// How bands charge a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TierMode {
    /// Each band charges its value on the part of the quantity inside it.
    Graduated,
    /// The whole quantity is charged at the value of the one band it falls in.
    Volume,
}

impl TierMode {
    /// Parses the scenario spelling.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "graduated" => Some(Self::Graduated),
            "volume" => Some(Self::Volume),
            _ => None,
        }
    }

    /// The scenario spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::Graduated => "graduated",
            Self::Volume => "volume",
        }
    }
}

/// One band: `[from, to)` for graduated parts, `(from, to]` for volume membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Band {
    /// Lower bound.
    pub from: Decimal,
    /// Upper bound; `None` only on the last band.
    pub to: Option<Decimal>,
    /// Rate per unit (pricing) or percent (commissions).
    pub value: Decimal,
}

/// One band's part in a tiered result (see [`Tiers::shares`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    /// Index of the band in [`Tiers::bands`].
    pub band: usize,
    /// The part of the quantity charged in this band.
    pub part: Decimal,
    /// part × the band's value, unrounded.
    pub charge: Decimal,
}

/// A validated tier schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tiers {
    mode: TierMode,
    bands: Vec<Band>,
}

/// Which part of a band is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandField {
    /// The band list as a whole (e.g. empty).
    Bands,
    /// A band's `from`.
    From,
    /// A band's `to`.
    To,
    /// A band's rate or percent.
    Value,
}

/// One thing wrong with a band list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BandProblem {
    /// Index of the band, `None` for the list as a whole.
    pub index: Option<usize>,
    /// The field at fault.
    pub field: BandField,
    /// What is wrong, for a human.
    pub message: String,
}

impl Tiers {
    /// Validates bands per billing-semantics §5, reporting every problem found.
    pub fn new(mode: TierMode, bands: Vec<Band>) -> Result<Self, Vec<BandProblem>> {
        let mut problems = Vec::new();
        let mut problem = |index: Option<usize>, field, message: String| {
            problems.push(BandProblem {
                index,
                field,
                message,
            })
        };
        if bands.is_empty() {
            problem(
                None,
                BandField::Bands,
                "at least one band is required".into(),
            );
        }
        let last = bands.len().saturating_sub(1);
        for (i, band) in bands.iter().enumerate() {
            if i == 0 && !band.from.is_zero() {
                problem(
                    Some(i),
                    BandField::From,
                    "the first band must start at 0".into(),
                );
            }
            if i > 0 {
                match bands[i.saturating_sub(1)].to {
                    Some(prev_to) if prev_to != band.from => problem(
                        Some(i),
                        BandField::From,
                        format!(
                            "bands must be contiguous: expected {} (the previous band's to), found {}",
                            prev_to.normalize(),
                            band.from.normalize()
                        ),
                    ),
                    _ => {}
                }
            }
            match band.to {
                Some(to) if to <= band.from => problem(
                    Some(i),
                    BandField::To,
                    "to must be greater than from".into(),
                ),
                Some(_) if i == last => problem(
                    Some(i),
                    BandField::To,
                    "the last band must be unbounded (to: null)".into(),
                ),
                None if i != last => problem(
                    Some(i),
                    BandField::To,
                    "only the last band may be unbounded".into(),
                ),
                _ => {}
            }
            if band.value.is_sign_negative() && !band.value.is_zero() {
                problem(Some(i), BandField::Value, "must be ≥ 0".into());
            }
        }
        if problems.is_empty() {
            Ok(Self { mode, bands })
        } else {
            Err(problems)
        }
    }

    /// The mode.
    pub fn mode(&self) -> TierMode {
        self.mode
    }

    /// The bands, in order.
    pub fn bands(&self) -> &[Band] {
        &self.bands
    }

    /// The same bounds with every band's value transformed (e.g. a monthly rate turned
    /// into an hourly one). Bounds are already valid, so no re-validation is needed.
    pub fn map_values(&self, mut f: impl FnMut(Decimal) -> Decimal) -> Tiers {
        Tiers {
            mode: self.mode,
            bands: self
                .bands
                .iter()
                .map(|b| Band {
                    from: b.from,
                    to: b.to,
                    value: f(b.value),
                })
                .collect(),
        }
    }

    /// Σ value × part for graduated, q × value of q's band for volume. Unrounded.
    pub fn apply(&self, q: Decimal) -> Result<Decimal, Overflow> {
        match self.mode {
            TierMode::Graduated => {
                let mut total = Decimal::ZERO;
                for band in &self.bands {
                    let upper = band.to.map_or(q, |to| q.min(to));
                    let part = upper.checked_sub(band.from).ok_or(Overflow)?;
                    if part <= Decimal::ZERO {
                        break;
                    }
                    let charge = part.checked_mul(band.value).ok_or(Overflow)?;
                    total = total.checked_add(charge).ok_or(Overflow)?;
                }
                Ok(total)
            }
            TierMode::Volume => {
                let band = self.volume_band(q);
                q.checked_mul(band.value).ok_or(Overflow)
            }
        }
    }

    /// How [`apply`](Tiers::apply) reached its result, band by band: for graduated
    /// schedules every band that holds part of `q`, for volume the one band `q` falls in
    /// (with all of `q`). The charges sum exactly to `apply(q)`.
    pub fn shares(&self, q: Decimal) -> Result<Vec<Share>, Overflow> {
        match self.mode {
            TierMode::Graduated => {
                let mut out = Vec::new();
                for (i, band) in self.bands.iter().enumerate() {
                    let upper = band.to.map_or(q, |to| q.min(to));
                    let part = upper.checked_sub(band.from).ok_or(Overflow)?;
                    if part <= Decimal::ZERO {
                        break;
                    }
                    let charge = part.checked_mul(band.value).ok_or(Overflow)?;
                    out.push(Share {
                        band: i,
                        part,
                        charge,
                    });
                }
                Ok(out)
            }
            TierMode::Volume => {
                let i = self
                    .bands
                    .iter()
                    .position(|b| b.to.is_none_or(|to| q <= to))
                    .unwrap_or(self.bands.len().saturating_sub(1));
                let charge = q.checked_mul(self.bands[i].value).ok_or(Overflow)?;
                Ok(vec![Share {
                    band: i,
                    part: q,
                    charge,
                }])
            }
        }
    }

    /// The band where from < q ≤ to; the first band also takes 0 (and anything below).
    fn volume_band(&self, q: Decimal) -> &Band {
        self.bands
            .iter()
            .find(|b| b.to.is_none_or(|to| q <= to))
            .unwrap_or(&self.bands[self.bands.len().saturating_sub(1)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn band(from: &str, to: Option<&str>, value: &str) -> Band {
        Band {
            from: d(from),
            to: to.map(d),
            value: d(value),
        }
    }

    fn three(mode: TierMode) -> Tiers {
        Tiers::new(
            mode,
            vec![
                band("0", Some("100"), "0.10"),
                band("100", Some("1000"), "0.08"),
                band("1000", None, "0.05"),
            ],
        )
        .unwrap()
    }

    #[test]
    fn graduated_and_volume_from_the_vector() {
        let g = three(TierMode::Graduated);
        let v = three(TierMode::Volume);
        assert_eq!(g.apply(d("100.5")).unwrap(), d("10.04"));
        assert_eq!(g.apply(d("1001")).unwrap(), d("82.05"));
        assert_eq!(v.apply(d("100")).unwrap(), d("10.00"));
        assert_eq!(v.apply(d("100.5")).unwrap(), d("8.04"));
        assert_eq!(v.apply(d("1001")).unwrap(), d("50.05"));
        assert_eq!(v.apply(Decimal::ZERO).unwrap(), Decimal::ZERO);
    }

    #[test]
    fn shares_name_the_bands_applied() {
        let g = three(TierMode::Graduated).shares(d("1001")).unwrap();
        let parts: Vec<_> = g.iter().map(|s| (s.band, s.part, s.charge)).collect();
        assert_eq!(
            parts,
            vec![
                (0, d("100"), d("10.00")),
                (1, d("900"), d("72.00")),
                (2, d("1"), d("0.05"))
            ]
        );
        let v = three(TierMode::Volume).shares(d("100.5")).unwrap();
        assert_eq!(
            v,
            vec![Share {
                band: 1,
                part: d("100.5"),
                charge: d("8.040")
            }]
        );
        assert!(
            three(TierMode::Graduated)
                .shares(d("0"))
                .unwrap()
                .is_empty()
        );
    }

    proptest::proptest! {
        /// The breakdown always sums to the result it explains.
        #[test]
        fn shares_sum_to_apply(cents in 0u64..10_000_000, volume: bool) {
            let q = Decimal::new(cents as i64, 2);
            let t = three(if volume { TierMode::Volume } else { TierMode::Graduated });
            let sum: Decimal = t.shares(q).unwrap().iter().map(|s| s.charge).sum();
            proptest::prop_assert_eq!(sum, t.apply(q).unwrap());
        }
    }

    #[test]
    fn reports_every_band_problem() {
        let err = Tiers::new(
            TierMode::Graduated,
            vec![
                band("1", Some("100"), "0.1"),
                band("150", Some("120"), "-1"),
                band("120", Some("200"), "0"),
            ],
        )
        .unwrap_err();
        let fields: Vec<_> = err.iter().map(|p| (p.index, p.field)).collect();
        assert_eq!(
            fields,
            vec![
                (Some(0), BandField::From),
                (Some(1), BandField::From),
                (Some(1), BandField::To),
                (Some(1), BandField::Value),
                (Some(2), BandField::To),
            ]
        );
        assert!(Tiers::new(TierMode::Volume, vec![]).is_err());
        assert!(
            Tiers::new(
                TierMode::Volume,
                vec![band("0", None, "1"), band("0", None, "1")]
            )
            .is_err()
        );
    }
}
