//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`), parsed exactly.
//!
//! Values are held as an integer number of nano-units, which covers every quantity a
//! pod or quota can sensibly carry (up to about 1.7e29 base units); fractions below one
//! nano-unit round up, as Kubernetes rounds.

use thiserror::Error;

/// A parsed quantity, in nano-units (1 CPU = 1e9, 1 byte = 1e9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity {
    nanos: i128,
}

/// Why text is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum QuantityError {
    /// The text does not have the form `<number><suffix>`.
    #[error("{0:?} is not a quantity (a number with an optional suffix such as m, Mi, G)")]
    Syntax(String),
    /// The value is beyond what can be represented.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// Longest accepted text; real quantities are short.
const MAX_LEN: usize = 64;

impl Quantity {
    /// Zero.
    pub const ZERO: Self = Self { nanos: 0 };

    /// The quantity in nano-units.
    pub fn nanos(self) -> i128 {
        self.nanos
    }

    /// From a whole number of base units.
    pub fn from_units(units: i64) -> Self {
        Self {
            nanos: i128::from(units) * 1_000_000_000,
        }
    }

    /// The value in base units as a float (for display and templates).
    #[allow(clippy::cast_precision_loss)] // display only
    pub fn as_f64(self) -> f64 {
        self.nanos as f64 / 1e9
    }

    /// Parses Kubernetes quantity syntax: an optionally signed decimal number, then a
    /// binary suffix (`Ki`…`Ei`), a decimal suffix (`n u m k M G T P E`) or an exponent
    /// (`e3`, `E-2`).
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        let syntax = || QuantityError::Syntax(text.chars().take(MAX_LEN).collect());
        let too_large = || QuantityError::TooLarge(text.chars().take(MAX_LEN).collect());
        if text.is_empty() || text.len() > MAX_LEN {
            return Err(syntax());
        }
        let (negative, rest) = match text.as_bytes()[0] {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (number, suffix) = rest.split_at(num_len);
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(syntax());
        }
        let digits: String = whole.chars().chain(frac.chars()).collect();
        let mut mantissa: i128 = 0;
        for b in digits.bytes() {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or_else(too_large)?;
        }
        // value = mantissa * 10^(exp10 - frac.len()) * 2^exp2, in base units.
        let (exp10, exp2): (i32, u32) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            s if s.starts_with(['e', 'E']) => {
                let e: i32 = s[1..].parse().map_err(|_| syntax())?;
                if !(-30..=30).contains(&e) {
                    return Err(too_large());
                }
                (e, 0)
            }
            _ => return Err(syntax()),
        };
        let frac_len = i32::try_from(frac.len()).map_err(|_| syntax())?;
        // Scale to nano-units: multiply by 10^(9 + exp10 - frac_len) and 2^exp2.
        let scale = 9 + exp10 - frac_len;
        let mut value = mantissa.checked_mul(1i128 << exp2).ok_or_else(too_large)?;
        if scale >= 0 {
            value = value
                .checked_mul(
                    10i128
                        .checked_pow(scale.unsigned_abs())
                        .ok_or_else(too_large)?,
                )
                .ok_or_else(too_large)?;
        } else {
            let div = 10i128
                .checked_pow(scale.unsigned_abs())
                .ok_or_else(too_large)?;
            // Round up, as Kubernetes does for precision it cannot hold.
            value = (value + div - 1) / div;
        }
        Ok(Self {
            nanos: if negative { -value } else { value },
        })
    }
}

impl std::fmt::Display for Quantity {
    /// The canonical form: the largest binary suffix dividing the value exactly (`10Gi`,
    /// `512Mi`, `1Ki`), else the plain number of base units; fractions as `m`, `u` or
    /// `n` (`500m`). Parsing the text gives back the same quantity.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.nanos < 0 { "-" } else { "" };
        let n = self.nanos.unsigned_abs();
        let unit = 1_000_000_000u128;
        if n == 0 {
            return f.write_str("0");
        }
        if n.is_multiple_of(unit) {
            let units = n / unit;
            let mut best = None;
            for (k, suffix) in ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"].iter().enumerate() {
                let div = 1u128 << (10 * (k + 1));
                if units.is_multiple_of(div) {
                    best = Some((units / div, *suffix));
                }
            }
            return match best {
                Some((m, suffix)) => write!(f, "{sign}{m}{suffix}"),
                None => write!(f, "{sign}{units}"),
            };
        }
        let (div, suffix) = if n.is_multiple_of(1_000_000) {
            (1_000_000, "m")
        } else if n.is_multiple_of(1_000) {
            (1_000, "u")
        } else {
            (1, "n")
        };
        write!(f, "{sign}{}{suffix}", n / div)
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> i128 {
        Quantity::parse(s).map(Quantity::nanos).unwrap_or(i128::MIN)
    }

    #[test]
    fn suffixes() {
        assert_eq!(n("1"), 1_000_000_000);
        assert_eq!(n("500m"), 500_000_000);
        assert_eq!(n("1.5"), 1_500_000_000);
        assert_eq!(n("1Ki"), 1024 * 1_000_000_000);
        assert_eq!(n("1.5Gi"), 1_610_612_736 * 1_000_000_000);
        assert_eq!(n("2k"), 2_000 * 1_000_000_000);
        assert_eq!(n("1e3"), 1_000 * 1_000_000_000);
        assert_eq!(n("1E-3"), 1_000_000);
        assert_eq!(n("10n"), 10);
        assert_eq!(n("-1"), -1_000_000_000);
        assert_eq!(n(".5"), 500_000_000);
        assert_eq!(n("1Ei"), (1i128 << 60) * 1_000_000_000);
    }

    #[test]
    fn ordering_compares_values_not_text() {
        assert!(Quantity::parse("1Gi").ok() > Quantity::parse("1G").ok());
        assert!(Quantity::parse("999Mi").ok() < Quantity::parse("1Gi").ok());
        assert_eq!(Quantity::parse("1000m").ok(), Quantity::parse("1").ok());
    }

    #[test]
    fn canonical_text_round_trips() {
        for (input, canonical) in [
            ("10Gi", "10Gi"),
            ("10737418240", "10Gi"),
            ("512Mi", "512Mi"),
            ("1024", "1Ki"),
            ("1000", "1000"),
            ("1k", "1000"),
            ("0", "0"),
            ("0.5", "500m"),
            ("-2048", "-2Ki"),
            ("1.5Gi", "1536Mi"),
            ("1500u", "1500u"),
            ("1500n", "1500n"),
        ] {
            let q = Quantity::parse(input).unwrap_or(Quantity::ZERO);
            assert_eq!(q.to_string(), canonical, "{input}");
            assert_eq!(Quantity::parse(canonical).ok(), Some(q), "{canonical}");
        }
    }

    #[test]
    fn malformed() {
        for bad in [
            "", "abc", "1.2.3", "1Q", "Gi", ".", "1e", "1e99", "--1", "1 Gi",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(Quantity::parse(&"9".repeat(65)).is_err());
        assert!(
            Quantity::parse(&"9".repeat(40)).is_err(),
            "overflow is an error, not a panic"
        );
    }
}
