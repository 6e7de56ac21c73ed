//! Value types of the configuration that have their own spelling in TOML: bitrates
//! (`"1400k"`), frame rates (`30`, `"30000/1001"`) and free-form option values.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A bitrate in bits per second. TOML accepts an integer (bits/s) or a string with an
/// optional `k` (×1000) or `M` (×1 000 000) suffix: `"1400k"`, `"3M"`, `"2.5M"`, `800000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bitrate(pub u64);

impl Bitrate {
    /// Bits per second.
    pub fn bps(self) -> u64 {
        self.0
    }

    /// Parses `"1400k"`, `"3M"`, `"2.5m"`, `"800000"`; `None` unless the result is positive.
    pub fn parse(text: &str) -> Option<Bitrate> {
        let text = text.trim();
        let (digits, scale) = match text.char_indices().last()? {
            (i, 'k' | 'K') => (&text[..i], 1_000.0),
            (i, 'm' | 'M') => (&text[..i], 1_000_000.0),
            _ => (text, 1.0),
        };
        let value: f64 = digits.trim().parse().ok()?;
        let bps = (value * scale).round();
        (value.is_finite() && (1.0..1e12).contains(&bps)).then_some(Bitrate(bps as u64))
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bps = self.0;
        if bps >= 1_000_000 && bps.is_multiple_of(100_000) {
            write!(f, "{}M", bps as f64 / 1e6)
        } else if bps >= 1_000 && bps.is_multiple_of(1_000) {
            write!(f, "{}k", bps / 1_000)
        } else {
            write!(f, "{bps}")
        }
    }
}

/// The one message every malformed bitrate gets (the locator adds field path and line).
pub(crate) const BITRATE_EXPECTED: &str = "expected a positive bitrate like \"1400k\"";

impl<'de> Deserialize<'de> for Bitrate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bitrate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(BITRATE_EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bitrate, E> {
                u64::try_from(v)
                    .ok()
                    .filter(|v| *v > 0)
                    .map(Bitrate)
                    .ok_or_else(|| E::custom(BITRATE_EXPECTED))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bitrate, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Bitrate, E> {
                Err(E::custom(BITRATE_EXPECTED))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bitrate, E> {
                Bitrate::parse(v).ok_or_else(|| E::custom(BITRATE_EXPECTED))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Bitrate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A frame rate as an exact fraction. TOML accepts an integer (`30`), a float with at most
/// three decimals (`29.97` → 30000/1001 is *not* inferred: it becomes 2997/100), or a
/// string fraction (`"30000/1001"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRate {
    /// Frames…
    pub num: u32,
    /// …per this many seconds.
    pub den: u32,
}

impl FrameRate {
    /// Frames per second as a float (for display and pacing).
    pub fn fps(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }

    /// Parses `"30"`, `"30000/1001"`, `"25.0"`; `None` unless positive and at most 240 fps.
    pub fn parse(text: &str) -> Option<FrameRate> {
        let text = text.trim();
        let rate = if let Some((n, d)) = text.split_once('/') {
            FrameRate {
                num: n.trim().parse().ok()?,
                den: d.trim().parse().ok()?,
            }
        } else {
            Self::from_f64(text.parse().ok()?)?
        };
        rate.checked()
    }

    fn from_f64(v: f64) -> Option<FrameRate> {
        if !v.is_finite() || v <= 0.0 || v > 1000.0 {
            return None;
        }
        let milli = (v * 1000.0).round() as u32;
        let g = gcd(milli, 1000);
        Some(FrameRate {
            num: milli / g,
            den: 1000 / g,
        })
    }

    fn checked(self) -> Option<FrameRate> {
        (self.num > 0 && self.den > 0 && self.fps() <= 240.0).then_some(self)
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

impl fmt::Display for FrameRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            write!(f, "{}", self.num)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

pub(crate) const FRAME_RATE_EXPECTED: &str =
    "expected a frame rate like 30, 25.0 or \"30000/1001\" (at most 240)";

impl<'de> Deserialize<'de> for FrameRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FrameRate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(FRAME_RATE_EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FrameRate, E> {
                u32::try_from(v)
                    .ok()
                    .and_then(|num| FrameRate { num, den: 1 }.checked())
                    .ok_or_else(|| E::custom(FRAME_RATE_EXPECTED))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FrameRate, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FrameRate, E> {
                FrameRate::from_f64(v)
                    .and_then(FrameRate::checked)
                    .ok_or_else(|| E::custom(FRAME_RATE_EXPECTED))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FrameRate, E> {
                FrameRate::parse(v).ok_or_else(|| E::custom(FRAME_RATE_EXPECTED))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for FrameRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// A value of a free-form option table (`options = { listen = 1, timeout = "5s" }`): strings,
/// integers, floats and booleans are all passed to FFmpeg as their text (`true` → `"1"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OptionValue(pub String);

impl<'de> Deserialize<'de> for OptionValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OptionValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean option value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OptionValue, E> {
                Ok(OptionValue(if v { "1" } else { "0" }.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OptionValue, E> {
                Ok(OptionValue(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrate_spellings() {
        for (text, bps) in [
            ("1400k", 1_400_000),
            ("3M", 3_000_000),
            ("2.5m", 2_500_000),
            ("800000", 800_000),
            (" 128K ", 128_000),
        ] {
            assert_eq!(Bitrate::parse(text), Some(Bitrate(bps)), "{text}");
        }
        for bad in ["", "k", "-1k", "0", "abc", "1.5x", "NaNk", "0.0001"] {
            assert_eq!(Bitrate::parse(bad), None, "{bad}");
        }
        assert_eq!(Bitrate(1_400_000).to_string(), "1.4M");
        assert_eq!(Bitrate(128_000).to_string(), "128k");
        assert_eq!(Bitrate(1234).to_string(), "1234");
    }

    #[test]
    fn frame_rate_spellings() {
        assert_eq!(
            FrameRate::parse("30000/1001"),
            Some(FrameRate {
                num: 30000,
                den: 1001
            })
        );
        assert_eq!(FrameRate::parse("25"), Some(FrameRate { num: 25, den: 1 }));
        assert_eq!(
            FrameRate::parse("12.5"),
            Some(FrameRate { num: 25, den: 2 })
        );
        for bad in ["0", "-3", "1/0", "0/1", "500", "x"] {
            assert_eq!(FrameRate::parse(bad), None, "{bad}");
        }
    }
}
