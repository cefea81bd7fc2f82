//! Exact usage quantities for the aggregation loop.
//!
//! Summing millions of decimals with `Decimal` is slow and, once a sum outgrows 28
//! significant digits, order-dependent. A [`Quantity`] is an exact fixed-point number in
//! units of 10⁻²⁸ held in two machine integers, so sums are plain integer additions: exact,
//! associative and commutative. That makes parallel aggregation deterministic (any merge
//! order gives the same bits) and identical to sequential aggregation. Conversion back to
//! `Decimal` happens once per aggregate, at rating.

use std::fmt;

use rust_decimal::Decimal;

use crate::number::parse_decimal;

/// 10²⁸: one unit of the integer part in fraction units.
const ONE: u128 = 10_000_000_000_000_000_000_000_000_000;

/// An exact quantity `int + frac / 10²⁸`, with `0 ≤ frac < 10²⁸` (`int` is the floor).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Quantity {
    int: i128,
    frac: u128,
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_decimal() {
            Some(d) => write!(f, "Quantity({d})"),
            None => write!(f, "Quantity({} + {}e-28)", self.int, self.frac),
        }
    }
}

/// 10⁰ … 10²⁸.
const POW10: [u128; 29] = {
    let mut table = [1u128; 29];
    let mut i = 1;
    while i < 29 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

fn pow10(n: u32) -> u128 {
    POW10[n as usize]
}

impl Quantity {
    /// Zero.
    pub const ZERO: Quantity = Quantity { int: 0, frac: 0 };

    /// The exact value of a decimal (every `Decimal` has at most 28 places).
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "the scale is at most 28 and the remainder below 10^scale, so the product stays below 10^28"
    )]
    pub fn from_decimal(d: Decimal) -> Quantity {
        let scale = d.scale();
        let p = pow10(scale) as i128;
        let m = d.mantissa();
        Quantity {
            int: m.div_euclid(p),
            // `rem_euclid` is in 0..p, so the cast and product stay below 10²⁸.
            frac: (m.rem_euclid(p) as u128) * pow10(28 - scale),
        }
    }

    /// Parses the decimal grammar of [`parse_decimal`], accepting exactly the same texts
    /// with exactly the same values, with a fast path for plain `123.456` forms.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "the fast path takes at most 18 integer and 28 fraction digits: u64 and u128 hold them"
    )]
    pub fn parse(text: &str) -> Option<Quantity> {
        let b = text.as_bytes();
        let (negative, digits) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            _ => (false, b),
        };
        let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
        let rest = &digits[int_len..];
        let fast = int_len > 0
            && int_len <= 18
            && match rest {
                [] => true,
                // At most 28 digits in all: parse_decimal accepts it with the same value.
                [b'.', frac @ ..] => {
                    !frac.is_empty()
                        && int_len + frac.len() <= 28
                        && frac.iter().all(u8::is_ascii_digit)
                }
                _ => false,
            };
        if !fast {
            return parse_decimal(text).ok().map(Quantity::from_decimal);
        }
        // At most 18 integer digits fit a u64; fraction digits are taken 19 at a time.
        let mut int: u64 = 0;
        for &c in &digits[..int_len] {
            int = int * 10 + u64::from(c - b'0');
        }
        let mut frac: u128 = 0;
        if let [b'.', f @ ..] = rest {
            let (head, tail) = f.split_at(f.len().min(19));
            let mut part: u64 = 0;
            for &c in head {
                part = part * 10 + u64::from(c - b'0');
            }
            frac = u128::from(part) * POW10[28 - head.len()];
            let mut part: u64 = 0;
            for &c in tail {
                part = part * 10 + u64::from(c - b'0');
            }
            frac += u128::from(part) * POW10[28 - f.len()];
        }
        let int = i128::from(int);
        let q = Quantity { int, frac };
        Some(if negative { q.negated() } else { q })
    }

    /// The negation, or `None` for the values whose negation would not fit (an integer
    /// part of `i128::MIN` is never produced, so display and negation stay total).
    pub fn checked_neg(self) -> Option<Quantity> {
        let q = if self.frac == 0 {
            Quantity {
                int: self.int.checked_neg()?,
                frac: 0,
            }
        } else {
            Quantity {
                int: self.int.checked_neg()?.checked_sub(1)?,
                frac: ONE.checked_sub(self.frac)?,
            }
        };
        (q.int != i128::MIN).then_some(q)
    }

    /// The negation of a value known to be negatable: a negative one (its integer part
    /// lies in `(i128::MIN, 0)`), or a parsed one (at most ±10²⁹).
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "callers pass negative or parsed values only; see the doc comment"
    )]
    fn negated(self) -> Quantity {
        if self.frac == 0 {
            Quantity {
                int: -self.int,
                frac: 0,
            }
        } else {
            Quantity {
                int: -self.int - 1,
                frac: ONE - self.frac,
            }
        }
    }

    /// The exact sum; `None` only beyond ±1.7e38.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "both fractions are below 10^28, so their sum fits u128; the carry is checked below"
    )]
    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        let mut frac = self.frac + other.frac;
        let mut carry = 0;
        if frac >= ONE {
            frac -= ONE;
            carry = 1;
        }
        let int = self.int.checked_add(other.int)?.checked_add(carry)?;
        // Keeps negation (and so display) total.
        if int == i128::MIN {
            return None;
        }
        Some(Quantity { int, frac })
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.int < 0
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.int == 0 && self.frac == 0
    }

    /// The value as a `Decimal`: exact when it fits in 28 significant digits, otherwise
    /// rounded half-even to the nearest value that does. `None` beyond ±7.9e28.
    #[expect(
        clippy::arithmetic_side_effects,
        reason = "the fraction is below 10^28 and the powers at most 10^28; the mantissa is checked"
    )]
    pub fn to_decimal(self) -> Option<Decimal> {
        let negative = self.is_negative();
        let Quantity { int, frac } = if negative { self.negated() } else { self };
        let int = int as u128; // non-negative here
        let int_digits = if int == 0 { 0 } else { int.ilog10() + 1 };
        let scale = 28u32.saturating_sub(int_digits);
        let p = pow10(28 - scale);
        let mut kept = frac / p;
        let dropped = frac % p;
        if dropped * 2 > p || (dropped * 2 == p && kept % 2 == 1) {
            kept += 1;
        }
        let mantissa = int.checked_mul(pow10(scale))?.checked_add(kept)?;
        if mantissa >= 1u128 << 96 {
            return None;
        }
        let signed = if negative {
            -(mantissa as i128)
        } else {
            mantissa as i128
        };
        Decimal::try_from_i128_with_scale(signed, scale)
            .ok()
            .map(|d| {
                if d.is_zero() {
                    Decimal::ZERO
                } else {
                    d.normalize()
                }
            })
    }
}

/// The exact value in plain decimal notation (`-12.5`, `0.0000001`), every digit kept: what a
/// store writes for a running sum, read back by [`Quantity::parse_exact`]. Unlike a
/// `Decimal`, a sum may need more than 28 significant digits.
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.is_negative();
        let Quantity { int, frac } = if negative { self.negated() } else { *self };
        if negative {
            f.write_str("-")?;
        }
        write!(f, "{}", int.unsigned_abs())?;
        if frac != 0 {
            let digits = format!("{frac:028}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl Quantity {
    /// Reads the [`Display`](fmt::Display) form back exactly: an optional `-`, digits, and
    /// optionally `.` with at most 28 digits. `None` for anything else or out of range.
    pub fn parse_exact(text: &str) -> Option<Quantity> {
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_text, frac_text) = body.split_once('.').unwrap_or((body, ""));
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int_text) || (body.contains('.') && !digits(frac_text)) || frac_text.len() > 28 {
            return None;
        }
        let int = int_text
            .parse::<u128>()
            .ok()
            .and_then(|i| i128::try_from(i).ok())?;
        let frac = if frac_text.is_empty() {
            0
        } else {
            frac_text.parse::<u128>().ok()?.checked_mul(pow10(
                28u32.checked_sub(u32::try_from(frac_text.len()).ok()?)?,
            ))?
        };
        let q = Quantity { int, frac };
        if negative { q.checked_neg() } else { Some(q) }
    }
}

impl std::ops::Neg for Quantity {
    type Output = Quantity;

    fn neg(self) -> Quantity {
        self.negated()
    }
}

impl From<Decimal> for Quantity {
    fn from(d: Decimal) -> Self {
        Quantity::from_decimal(d)
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
    fn round_trips_decimals() {
        for s in [
            "0",
            "1",
            "-1",
            "-1.5",
            "2048.5",
            "0.0000001",
            "-0.0000000000000000000000000001",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "123.456",
        ] {
            assert_eq!(
                Quantity::from_decimal(d(s)).to_decimal().unwrap(),
                d(s),
                "{s}"
            );
        }
    }

    #[test]
    fn parses_like_parse_decimal() {
        for s in [
            "12",
            "-0.5",
            "4.57e-05",
            "1e-7",
            "8.381903171539307e-08",
            "0.0013440860215053763",
            "00012.50",
            "-0",
            "999999999999999999.9999999999",
            "1234567890123456789.5",
        ] {
            assert_eq!(
                Quantity::parse(s).unwrap().to_decimal(),
                Some(parse_decimal(s).unwrap()),
                "{s}"
            );
        }
        for s in ["", "-", "abc", "1.", ".5", "1e-29", "1e29", " 1"] {
            assert_eq!(
                Quantity::parse(s).is_some(),
                parse_decimal(s).is_ok(),
                "{s}"
            );
        }
    }

    #[test]
    fn negation_never_yields_the_one_value_it_cannot_undo() {
        // i128::MAX + 0.5, negated, would need an integer part of i128::MIN, whose own
        // negation (to display it) overflows: it is refused instead.
        let edge = format!("{}.5", i128::MAX);
        assert!(Quantity::parse_exact(&edge).is_some());
        assert_eq!(Quantity::parse_exact(&format!("-{edge}")), None);
        let q = Quantity::parse_exact("-12.25").unwrap();
        assert_eq!(q.checked_neg(), Quantity::parse_exact("12.25"));
        assert_eq!(q.to_string(), "-12.25");
    }

    #[test]
    fn sums_are_exact_and_round_once() {
        let parts = ["2048.5", "8.381903171539307e-08", "1e-7"];
        let sum = parts
            .iter()
            .map(|s| Quantity::parse(s).unwrap())
            .fold(Quantity::ZERO, |a, b| a.checked_add(b).unwrap());
        assert_eq!(sum.to_decimal().unwrap(), d("2048.50000018381903171539307"));
        let a = Quantity::parse("-1.25").unwrap();
        let b = Quantity::parse("1.25").unwrap();
        assert!(a.checked_add(b).unwrap().is_zero());
        assert!(a.is_negative() && !b.is_negative());
        // 10^6 + 10^-27 needs 34 digits: rounded half-even to 28 significant digits.
        let big = Quantity::parse("1000000")
            .unwrap()
            .checked_add(Quantity::parse("0.000000000000000000000000001").unwrap())
            .unwrap();
        assert_eq!(big.to_decimal().unwrap(), d("1000000"));
    }
}
