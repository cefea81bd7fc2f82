//! Price-increase modelling: raising every rate of a price list by a percentage or a
//! fixed amount. Rates stay exact (no rounding: rounding belongs to invoice lines);
//! credits are not prices and are left alone.

use rust_decimal::Decimal;

/// How rates rise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Increase {
    /// By this many percent of the current rate (may be negative, above −100).
    Percentage(Decimal),
    /// By this amount in the list's currency (may be negative).
    Fixed(Decimal),
}

/// Why an increase cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncreaseError {
    /// A percentage of −100 or less would make prices zero or negative.
    #[error("a percentage must be above -100")]
    PercentageTooLow,
    /// The new rate would be negative.
    #[error("rate {rate} would become negative ({result})")]
    Negative {
        /// The current rate.
        rate: Decimal,
        /// What it would become.
        result: Decimal,
    },
    /// The result does not fit a decimal.
    #[error("rate {0} overflows")]
    Overflow(Decimal),
}

impl Increase {
    /// The new rate for `rate`.
    pub fn apply(self, rate: Decimal) -> Result<Decimal, IncreaseError> {
        let result = match self {
            Increase::Percentage(p) => {
                if p <= -Decimal::ONE_HUNDRED {
                    return Err(IncreaseError::PercentageTooLow);
                }
                let factor = Decimal::ONE_HUNDRED
                    .checked_add(p)
                    .ok_or(IncreaseError::Overflow(rate))?;
                rate.checked_mul(factor)
                    .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
                    .ok_or(IncreaseError::Overflow(rate))?
            }
            Increase::Fixed(a) => rate.checked_add(a).ok_or(IncreaseError::Overflow(rate))?,
        };
        if result.is_sign_negative() && !result.is_zero() {
            return Err(IncreaseError::Negative { rate, result });
        }
        Ok(result.normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn percentages_are_exact() {
        assert_eq!(
            Increase::Percentage(d("10")).apply(d("0.05")),
            Ok(d("0.055"))
        );
        assert_eq!(
            Increase::Percentage(d("3.5")).apply(d("0.08")),
            Ok(d("0.0828"))
        );
        assert_eq!(Increase::Percentage(d("-50")).apply(d("2")), Ok(d("1")));
        // Near the largest decimal, the factor itself overflows: an error, not a panic.
        assert_eq!(
            Increase::Percentage(Decimal::MAX).apply(d("1")),
            Err(IncreaseError::Overflow(d("1")))
        );
    }

    #[test]
    fn fixed_amounts_add() {
        assert_eq!(Increase::Fixed(d("0.01")).apply(d("0.05")), Ok(d("0.06")));
        assert!(matches!(
            Increase::Fixed(d("-1")).apply(d("0.5")),
            Err(IncreaseError::Negative { .. })
        ));
    }

    #[test]
    fn percentages_at_or_below_minus_100_are_refused() {
        assert_eq!(
            Increase::Percentage(d("-100")).apply(d("1")),
            Err(IncreaseError::PercentageTooLow)
        );
    }
}
