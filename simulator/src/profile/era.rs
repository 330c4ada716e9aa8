//! Japanese era (和暦) dates as the card writes them: the birth-date key of the card-face
//! application and 照合番号B use era `YYMMDD` (reference §2.6), and the signature
//! certificate's birth date is one era digit + Gregorian `YYYYMMDD` (reference §4).

use jiff::civil::Date;

/// The first day the card's era dates can express: 明治 1 (1868-01-25, the Gregorian date
/// the era counts from). Earlier birth dates have no era year.
pub const FIRST_ERA_DATE: Date = Date::constant(1868, 1, 25);

/// A Japanese era.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// 明治, from 1868-10-23 (Gregorian 1868-01-25 for dating purposes).
    Meiji,
    /// 大正, from 1912-07-30.
    Taisho,
    /// 昭和, from 1926-12-25.
    Showa,
    /// 平成, from 1989-01-08.
    Heisei,
    /// 令和, from 2019-05-01.
    Reiwa,
}

impl Era {
    /// The era containing `date` (dates before Meiji count as Meiji).
    pub fn of(date: Date) -> Self {
        let starts = [
            (Date::constant(2019, 5, 1), Self::Reiwa),
            (Date::constant(1989, 1, 8), Self::Heisei),
            (Date::constant(1926, 12, 25), Self::Showa),
            (Date::constant(1912, 7, 30), Self::Taisho),
        ];
        starts
            .into_iter()
            .find(|(start, _)| date >= *start)
            .map_or(Self::Meiji, |(_, era)| era)
    }

    /// The Gregorian year of the era's first year (元年).
    fn first_year(self) -> i16 {
        match self {
            Self::Meiji => 1868,
            Self::Taisho => 1912,
            Self::Showa => 1926,
            Self::Heisei => 1989,
            Self::Reiwa => 2019,
        }
    }

    /// The 住基 era digit: 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和 (reference §4, inferred there
    /// from examples; the J-LIS test card's `319800217` for 1980-02-17 confirms 昭和 = 3).
    pub fn digit(self) -> u8 {
        match self {
            Self::Meiji => 1,
            Self::Taisho => 2,
            Self::Showa => 3,
            Self::Heisei => 4,
            Self::Reiwa => 5,
        }
    }

    /// The era name in kanji.
    pub fn kanji(self) -> &'static str {
        match self {
            Self::Meiji => "明治",
            Self::Taisho => "大正",
            Self::Showa => "昭和",
            Self::Heisei => "平成",
            Self::Reiwa => "令和",
        }
    }
}

/// The era year of `date` (1 for 元年).
pub fn era_year(date: Date) -> i16 {
    date.year() - Era::of(date).first_year() + 1
}

/// Era `YYMMDD`: 1980-02-17 → `550217` (昭和55).
pub fn era_yymmdd(date: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        era_year(date) % 100,
        date.month(),
        date.day()
    )
}

/// One era digit + Gregorian `YYYYMMDD`: 1980-02-17 → `319800217`.
pub fn era_digit_yyyymmdd(date: Date) -> String {
    format!("{}{}", Era::of(date).digit(), yyyymmdd(date))
}

/// Gregorian `YYYYMMDD`.
pub fn yyyymmdd(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_examples() {
        // Reference §2.6: born 1980-02-17 (昭和55).
        let d = Date::constant(1980, 2, 17);
        assert_eq!(era_yymmdd(d), "550217");
        assert_eq!(era_digit_yyyymmdd(d), "319800217");
        // Reference §4: `419900102` is 平成.
        assert_eq!(era_digit_yyyymmdd(Date::constant(1990, 1, 2)), "419900102");
    }

    #[test]
    fn era_boundaries() {
        assert_eq!(Era::of(Date::constant(1989, 1, 7)), Era::Showa);
        assert_eq!(era_yymmdd(Date::constant(1989, 1, 7)), "640107");
        assert_eq!(Era::of(Date::constant(1989, 1, 8)), Era::Heisei);
        assert_eq!(era_yymmdd(Date::constant(1989, 1, 8)), "010108");
        assert_eq!(era_yymmdd(Date::constant(2019, 4, 30)), "310430");
        assert_eq!(era_yymmdd(Date::constant(2019, 5, 1)), "010501");
        assert_eq!(Era::of(Date::constant(1926, 12, 24)), Era::Taisho);
    }
}
