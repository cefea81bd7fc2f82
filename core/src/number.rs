//! Exact decimal text: the one parser and formatter for every quantity, rate and amount.
//!
//! Billing inputs arrive as text (JSON strings, CSV fields, or JSON number literals read
//! verbatim). They are parsed straight into [`Decimal`] without passing through binary
//! floating point, so `1e-7` is exactly one ten-millionth and `0.1` is exactly a tenth.

use rust_decimal::Decimal;

/// Largest scale a [`Decimal`] can hold.
const MAX_SCALE: u32 = 28;

/// Why a piece of text is not an exact decimal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// The text is not of the form `-digits[.digits][e[+-]digits]`.
    #[error("not a decimal number: {0:?}")]
    Syntax(String),
    /// The value needs more than 28 decimal places or more than 28 significant digits.
    #[error("{0:?} cannot be held exactly (more than 28 significant digits or decimal places)")]
    Precision(String),
    /// The magnitude exceeds what a 96-bit decimal can hold (about 7.9e28).
    #[error("{0:?} is out of range")]
    Range(String),
}

/// Parses the decimal grammar of billing-semantics §1: an optional `-`, digits with an
/// optional fraction, and an optional exponent. No spaces, no `+` sign, no `.5`.
#[expect(
    clippy::arithmetic_side_effects,
    reason = "indices stay below the text's length, digits are 0-9, the mantissa is checked, the exponent is clamped to ±1,000,000, so the scale arithmetic in i64 cannot overflow"
)]
pub fn parse_decimal(text: &str) -> Result<Decimal, NumberError> {
    let bytes = text.as_bytes();
    let syntax = || NumberError::Syntax(text.to_owned());
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    if negative {
        i += 1;
    }
    let mut mantissa: u128 = 0;
    let mut digits = 0u32; // significant digits accumulated into `mantissa`
    let mut fraction_digits = 0i64;
    let mut overflow = false;
    let mut push = |d: u8, mantissa: &mut u128, digits: &mut u32| {
        if *mantissa == 0 && d == 0 {
            return;
        }
        match mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(d)))
        {
            Some(m) => {
                *mantissa = m;
                *digits += 1;
            }
            None => overflow = true,
        }
    };
    let int_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        push(bytes[i] - b'0', &mut mantissa, &mut digits);
        i += 1;
    }
    if i == int_start {
        return Err(syntax());
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            push(bytes[i] - b'0', &mut mantissa, &mut digits);
            fraction_digits += 1;
            i += 1;
        }
        if i == frac_start {
            return Err(syntax());
        }
    }
    let mut exponent: i64 = 0;
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        let exp_negative = match bytes.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            // Saturate: any exponent this large is out of range or precision anyway.
            exponent = (exponent * 10 + i64::from(bytes[i] - b'0')).min(1_000_000);
            i += 1;
        }
        if i == exp_start {
            return Err(syntax());
        }
        if exp_negative {
            exponent = -exponent;
        }
    }
    if i != bytes.len() {
        return Err(syntax());
    }
    if overflow {
        return Err(NumberError::Precision(text.to_owned()));
    }
    let _ = digits;
    let mut scale = fraction_digits - exponent;
    // Trailing zeros carry no value; drop them while the scale is too large.
    while scale > i64::from(MAX_SCALE) && mantissa != 0 && mantissa.is_multiple_of(10) {
        mantissa /= 10;
        scale -= 1;
    }
    if mantissa == 0 {
        return Ok(Decimal::ZERO);
    }
    if scale > i64::from(MAX_SCALE) {
        return Err(NumberError::Precision(text.to_owned()));
    }
    while scale < 0 {
        mantissa = mantissa
            .checked_mul(10)
            .ok_or_else(|| NumberError::Range(text.to_owned()))?;
        scale += 1;
    }
    let signed = i128::try_from(mantissa).map_err(|_| NumberError::Range(text.to_owned()))?;
    let signed = if negative { -signed } else { signed };
    // `scale` is within 0..=28 here, so the conversion cannot fail.
    let scale = u32::try_from(scale).map_err(|_| NumberError::Precision(text.to_owned()))?;
    Decimal::try_from_i128_with_scale(signed, scale).map_err(|_| {
        if mantissa >= (1u128 << 96) {
            NumberError::Range(text.to_owned())
        } else {
            NumberError::Precision(text.to_owned())
        }
    })
}

/// Formats a quantity or rate as billing-semantics §1 asks: plain notation, trailing
/// zeros removed, never `-0`.
pub fn format_plain(value: Decimal) -> String {
    if value.is_zero() {
        return "0".to_owned();
    }
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn parses_the_grammar() {
        assert_eq!(parse_decimal("12").unwrap(), d("12"));
        assert_eq!(parse_decimal("-0.5").unwrap(), d("-0.5"));
        assert_eq!(parse_decimal("4.57e-05").unwrap(), d("0.0000457"));
        assert_eq!(parse_decimal("1e-7").unwrap(), d("0.0000001"));
        assert_eq!(parse_decimal("1E3").unwrap(), d("1000"));
        assert_eq!(parse_decimal("1e+3").unwrap(), d("1000"));
        assert_eq!(
            parse_decimal("8.381903171539307e-08").unwrap(),
            d("0.00000008381903171539307")
        );
        assert_eq!(parse_decimal("0.000").unwrap(), Decimal::ZERO);
        assert_eq!(parse_decimal("00012.50").unwrap(), d("12.5"));
    }

    #[test]
    fn rejects_other_forms() {
        for bad in [
            "", "-", "abc", " 1", "1 ", "+1", ".5", "1.", "1e", "1e+", "0x10", "1,5", "NaN", "--1",
            "1.2.3",
        ] {
            assert!(
                matches!(parse_decimal(bad), Err(NumberError::Syntax(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reports_precision_and_range() {
        assert!(matches!(
            parse_decimal("1e-29"),
            Err(NumberError::Precision(_))
        ));
        assert!(matches!(parse_decimal("1e29"), Err(NumberError::Range(_))));
        assert!(parse_decimal("1e-999999999999").is_err());
        assert_eq!(
            parse_decimal("1000e-30").unwrap(),
            d("0.000000000000000000000000001")
        );
        assert!(parse_decimal("123456789012345678901234567890123456789012").is_err());
    }

    #[test]
    fn formats_plainly() {
        assert_eq!(format_plain(d("1488.000")), "1488");
        assert_eq!(format_plain(d("0.50")), "0.5");
        assert_eq!(format_plain(d("-0.00")), "0");
        assert_eq!(format_plain(d("0.0000001")), "0.0000001");
    }
}
