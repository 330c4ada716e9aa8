//! The card's layout generation: how the files of one issue period are encoded where card
//! batches differ (reference §1.4, §3.4; docs/profiles.md, "Layout generations").
//!
//! | generation | input-support EF 0002 outer length | evidence |
//! |---|---|---|
//! | `2016` | minimal: `FF 20 LL`, `FF 20 81 LL` from 128 bytes | the J-LIS test card (`FF 20 65 …`, MYNA-CARD) — high |
//! | `2023` | always two bytes: `FF 20 82 HH LL` | card owners' parser fixes in 2023–2024 that work only with `82` — medium, no bytes published |
//!
//! The default follows the issue date: cards issued from 2023 on are `2023`.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::apdu::tlv::LengthForm;

/// A layout generation, named by the year it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// Cards issued 2016–2022, and the J-LIS test card.
    Gen2016,
    /// Cards issued from 2023 on.
    Gen2023,
}

impl Layout {
    /// Every generation, oldest first.
    pub const ALL: [Self; 2] = [Self::Gen2016, Self::Gen2023];

    /// The generation of a card issued on `issued`.
    pub fn for_issue_date(issued: Date) -> Self {
        if issued.year() >= 2023 {
            Self::Gen2023
        } else {
            Self::Gen2016
        }
    }

    /// The year that names it.
    pub fn year(self) -> u16 {
        match self {
            Self::Gen2016 => 2016,
            Self::Gen2023 => 2023,
        }
    }

    /// The generation named by a year, if there is one.
    pub fn from_year(year: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|l| u64::from(l.year()) == year)
    }

    /// The outer length form of input-support EF 0002 (`FF 20`).
    pub fn attributes_length(self) -> LengthForm {
        match self {
            Self::Gen2016 => LengthForm::Minimal,
            Self::Gen2023 => LengthForm::Long(2),
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.year())
    }
}

impl Serialize for Layout {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(self.year())
    }
}

/// Accepts `2016` or `"2016"`: YAML users write the year bare, JSON tools may quote it.
impl<'de> Deserialize<'de> for Layout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Layout;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a layout generation: 2016 or 2023")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Layout, E> {
                Layout::from_year(v).ok_or_else(|| {
                    E::custom(format!(
                        "no layout generation {v}: the generations are 2016 and 2023"
                    ))
                })
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Layout, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "no layout generation {v}: the generations are 2016 and 2023"
                    ))),
                }
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Layout, E> {
                match v.trim().parse::<u64>() {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "`{v}` is not a layout generation: write 2016 or 2023"
                    ))),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl schemars::JsonSchema for Layout {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Layout".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "enum": [2016, 2023, "2016", "2023"],
            "description": "A layout generation, named by the year it starts: 2016 (input-support \
                            EF 0002 with a minimal outer length, `FF 20 LL`) or 2023 (`FF 20 82 HH \
                            LL`). Default: 2023 for cards issued from 2023 on, else 2016."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_follows_the_issue_year() {
        assert_eq!(
            Layout::for_issue_date(Date::constant(2022, 12, 31)),
            Layout::Gen2016
        );
        assert_eq!(
            Layout::for_issue_date(Date::constant(2023, 1, 1)),
            Layout::Gen2023
        );
        assert_eq!(
            Layout::for_issue_date(Date::constant(2016, 1, 1)),
            Layout::Gen2016
        );
    }

    #[test]
    fn years_and_quoted_years_deserialise() {
        let l: Layout = serde_json::from_str("2023").unwrap();
        assert_eq!(l, Layout::Gen2023);
        let l: Layout = serde_json::from_str("\"2016\"").unwrap();
        assert_eq!(l, Layout::Gen2016);
        let e = serde_json::from_str::<Layout>("2019").unwrap_err();
        assert!(e.to_string().contains("no layout generation 2019"), "{e}");
        let e = serde_json::from_str::<Layout>("\"new\"").unwrap_err();
        assert!(
            e.to_string().contains("`new` is not a layout generation"),
            "{e}"
        );
        assert_eq!(serde_json::to_string(&Layout::Gen2016).unwrap(), "2016");
    }
}
