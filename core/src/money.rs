//! Currencies, their ISO 4217 minor units, and the one rounding function.
//!
//! Rounding happens only where billing-semantics.md says so; every such place calls
//! [`RoundingMode::round_money`] so that the mode in force is always explicit.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

/// An ISO 4217 currency that has a minor unit (funds and metals such as XAU do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_unit: u8,
}

/// Active ISO 4217 codes whose minor unit is not 2 (everything in [`TWO_DIGIT`] has 2).
const OTHER_DIGITS: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes with two minor digits.
const TWO_DIGIT: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR",
    "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD",
    "USN", "UYU", "UZS", "VED", "VES", "XCD", "XCG", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
    "ZWL",
];

/// Why a currency code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an upper-case ISO 4217 currency code with a minor unit")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency {
        code: *b"USD",
        minor_unit: 2,
    };

    /// Looks a code up in ISO 4217. Lower-case codes are refused on purpose: the contract
    /// says upper-case, and silently accepting `aud` would hide sloppy upstream data.
    pub fn from_code(code: &str) -> Result<Self, UnknownCurrency> {
        let minor_unit = if TWO_DIGIT.contains(&code) {
            2
        } else if let Some((_, digits)) = OTHER_DIGITS.iter().find(|(c, _)| *c == code) {
            *digits
        } else {
            return Err(UnknownCurrency(code.to_owned()));
        };
        let b = code.as_bytes();
        Ok(Self {
            code: [b[0], b[1], b[2]],
            minor_unit,
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Only ASCII codes from the tables above are ever stored.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Digits after the decimal point in this currency's smallest unit (JPY 0, KWD 3).
    pub fn minor_unit(&self) -> u32 {
        u32::from(self.minor_unit)
    }

    /// Renders an amount already rounded to this currency with exactly its minor-unit
    /// digits (`"59.50"`, JPY `"1200"`), never `-0.00`.
    pub fn format(&self, amount: Decimal) -> String {
        let mut value = amount.round_dp(self.minor_unit());
        if value.is_zero() {
            value = Decimal::ZERO;
        }
        value.rescale(self.minor_unit());
        value.to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How exact halves are resolved when amounts are rounded to a currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoundingMode {
    /// Banker's rounding: halves go to the even neighbour. The platform default.
    #[default]
    HalfEven,
    /// Halves go away from zero.
    HalfUp,
}

impl RoundingMode {
    /// Parses the scenario spelling (`half_even`, `half_up`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "half_even" => Some(Self::HalfEven),
            "half_up" => Some(Self::HalfUp),
            _ => None,
        }
    }

    /// The scenario spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::HalfEven => "half_even",
            Self::HalfUp => "half_up",
        }
    }

    /// Rounds to `dp` decimal places in this mode.
    pub fn round(self, value: Decimal, dp: u32) -> Decimal {
        let strategy = match self {
            Self::HalfEven => RoundingStrategy::MidpointNearestEven,
            Self::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        };
        let rounded = value.round_dp_with_strategy(dp, strategy);
        if rounded.is_zero() {
            Decimal::ZERO
        } else {
            rounded
        }
    }

    /// Rounds an amount to the currency's minor unit: the only money rounding there is.
    pub fn round_money(self, value: Decimal, currency: Currency) -> Decimal {
        self.round(value, currency.minor_unit())
    }
}

/// An amount in a currency. Adding amounts of two currencies is an error, not a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

/// Two amounts in different currencies were combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot combine {left} with {right}")]
pub struct CurrencyMismatch {
    /// Currency of the left operand.
    pub left: Currency,
    /// Currency of the right operand.
    pub right: Currency,
}

impl Money {
    /// An amount in `currency`.
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Self { amount, currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(Decimal::ZERO, currency)
    }

    /// The amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Sum of two amounts of the same currency; `None` only on decimal overflow.
    pub fn checked_add(self, other: Money) -> Result<Option<Money>, CurrencyMismatch> {
        if self.currency != other.currency {
            return Err(CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            });
        }
        Ok(self
            .amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency)))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.format(self.amount), self.currency)
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
    fn minor_units() {
        assert_eq!(Currency::from_code("AUD").unwrap().minor_unit(), 2);
        assert_eq!(Currency::from_code("JPY").unwrap().minor_unit(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().minor_unit(), 3);
        assert!(Currency::from_code("aud").is_err());
        assert!(Currency::from_code("XAU").is_err());
        assert!(Currency::from_code("").is_err());
        assert!(Currency::from_code("AUDD").is_err());
    }

    #[test]
    fn formats_minor_digits() {
        let aud = Currency::from_code("AUD").unwrap();
        let jpy = Currency::from_code("JPY").unwrap();
        let kwd = Currency::from_code("KWD").unwrap();
        assert_eq!(aud.format(d("59.5")), "59.50");
        assert_eq!(aud.format(d("-0.00")), "0.00");
        assert_eq!(jpy.format(d("1200")), "1200");
        assert_eq!(kwd.format(d("1.5")), "1.500");
    }

    #[test]
    fn rounding_modes_differ_on_halves_only() {
        let aud = Currency::from_code("AUD").unwrap();
        assert_eq!(
            RoundingMode::HalfEven.round_money(d("0.125"), aud),
            d("0.12")
        );
        assert_eq!(RoundingMode::HalfUp.round_money(d("0.125"), aud), d("0.13"));
        assert_eq!(
            RoundingMode::HalfUp.round_money(d("-0.125"), aud),
            d("-0.13")
        );
        assert_eq!(
            RoundingMode::HalfEven.round_money(d("0.1251"), aud),
            d("0.13")
        );
    }

    #[test]
    fn money_refuses_mixed_currencies() {
        let aud = Currency::from_code("AUD").unwrap();
        let usd = Currency::from_code("USD").unwrap();
        assert!(Money::zero(aud).checked_add(Money::zero(usd)).is_err());
        assert_eq!(
            Money::new(d("1"), aud)
                .checked_add(Money::new(d("2"), aud))
                .unwrap()
                .unwrap()
                .amount(),
            d("3")
        );
    }
}
