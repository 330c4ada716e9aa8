//! Card and certificate validity, from the J-LIS FAQ Q12 (`shared/seed`) and the change of
//! the age of majority on 2022-04-01.
//!
//! * The card is valid until the holder's **10th birthday after issue**, or the **5th** for a
//!   holder under the age of majority at issue.
//! * The age of majority is **20** for cards applied for before 2022-04-01 and **18** from
//!   then on (Civil Code amendment; municipal pages such as Kobe's and Yonago's state the
//!   rule by application date, and the application date defaults to the issue date).
//! * Both certificates are valid until the **5th birthday after issue**, whatever the age,
//!   and never beyond the card (or, for foreign residents, the end of their period of stay).
//! * "After issue" is strict: a card issued on the holder's birthday counts its first
//!   birthday a year later (「発行の日後の…誕生日」).
//! * A 29 February birthday falls on **28 February** in common years. No source states it
//!   for the card; this follows Civil Code art. 143(2), under which a period counted in years
//!   whose last month lacks the day ends on that month's last day.
//! * Age is counted in completed years; a 29 February holder turns a year older on 1 March in
//!   common years (the Act on Calculation of Age with art. 143).

use jiff::civil::Date;
use jiff::{ToSpan, Unit};

/// The day the age of majority fell from 20 to 18.
pub const MAJORITY_CHANGE: Date = Date::constant(2022, 4, 1);

/// The age of majority that applies to a card applied for on `applied`.
pub fn majority_age(applied: Date) -> i16 {
    if applied < MAJORITY_CHANGE { 20 } else { 18 }
}

/// Completed years of age on `on` (negative before birth).
pub fn age_on(birth: Date, on: Date) -> i16 {
    birth
        .until((Unit::Year, on))
        .map(|span| span.get_years())
        .unwrap_or(0)
}

/// The holder's birthday in `year`: 29 February becomes 28 February in common years.
pub fn birthday_in(birth: Date, year: i16) -> Date {
    Date::new(year, birth.month(), birth.day())
        .or_else(|_| Date::new(year, birth.month(), birth.day() - 1))
        .unwrap_or(birth)
}

/// The `n`-th birthday strictly after `after` (n ≥ 1).
pub fn nth_birthday_after(birth: Date, after: Date, n: i16) -> Date {
    let this_year = birthday_in(birth, after.year());
    let first_year = if this_year > after {
        after.year()
    } else {
        after.year() + 1
    };
    birthday_in(birth, first_year.saturating_add(n.saturating_sub(1)))
}

/// Why the card has the validity it has, for `card show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardValidity {
    /// Age at issue.
    pub age_at_issue: i16,
    /// The age of majority that applied.
    pub majority_age: i16,
    /// How many birthdays the card lasts (10 or 5).
    pub birthdays: i16,
    /// Last valid day of the card.
    pub expires: Date,
}

/// The card's validity under FAQ Q12, capped by an end of residence.
pub fn card_validity(
    birth: Date,
    issued: Date,
    applied: Date,
    residence_until: Option<Date>,
) -> CardValidity {
    let age_at_issue = age_on(birth, issued);
    let majority = majority_age(applied);
    let birthdays = if age_at_issue >= majority { 10 } else { 5 };
    let mut expires = nth_birthday_after(birth, issued, birthdays);
    if let Some(limit) = residence_until {
        expires = expires.min(limit);
    }
    CardValidity {
        age_at_issue,
        majority_age: majority,
        birthdays,
        expires,
    }
}

/// The certificates' last valid day: the 5th birthday after issue, never after the card.
pub fn certificate_expiry(birth: Date, issued: Date, card_expires: Date) -> Date {
    nth_birthday_after(birth, issued, 5).min(card_expires)
}

/// Whether a holder of this age at issue gets a signature certificate (none under 15,
/// reference §1.3; WEB minamiashigara/inacity).
pub fn signature_certificate_allowed(age_at_issue: i16) -> bool {
    age_at_issue >= 15
}

/// The day before `date` (for "expired yesterday" style defaults).
pub fn day_before(date: Date) -> Date {
    date.checked_sub(1.day()).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn d(y: i16, m: i8, day: i8) -> Date {
        Date::constant(y, m, day)
    }

    #[test]
    fn the_published_example() {
        // 政府広報オンライン via smil-en.co.jp: birthday 10 October, issued 2020-05-15 → the
        // card is valid until 2029-10-10, the 10th birthday.
        let v = card_validity(d(1980, 10, 10), d(2020, 5, 15), d(2020, 5, 15), None);
        assert_eq!(v.expires, d(2029, 10, 10));
        assert_eq!(
            certificate_expiry(d(1980, 10, 10), d(2020, 5, 15), v.expires),
            d(2024, 10, 10)
        );
    }

    #[test]
    fn a_birthday_on_the_issue_date_is_not_counted() {
        let v = card_validity(d(1990, 6, 1), d(2024, 6, 1), d(2024, 6, 1), None);
        assert_eq!(v.expires, d(2034, 6, 1));
        let v = card_validity(d(1990, 6, 2), d(2024, 6, 1), d(2024, 6, 1), None);
        assert_eq!(
            v.expires,
            d(2033, 6, 2),
            "the 2024-06-02 birthday is the first"
        );
    }

    #[test]
    fn leap_day_birthdays_fall_on_28_february_in_common_years() {
        let birth = d(2000, 2, 29);
        assert_eq!(birthday_in(birth, 2023), d(2023, 2, 28));
        assert_eq!(birthday_in(birth, 2024), d(2024, 2, 29));
        // Issued 2021-03-01: birthdays after are 2022-02-28 … 2026-02-28 (5th).
        assert_eq!(
            certificate_expiry(birth, d(2021, 3, 1), d(2099, 1, 1)),
            d(2026, 2, 28)
        );
        // Issued 2023-02-28, on the (common-year) birthday: the first counted is 2024-02-29.
        assert_eq!(nth_birthday_after(birth, d(2023, 2, 28), 1), d(2024, 2, 29));
        assert_eq!(nth_birthday_after(birth, d(2023, 2, 28), 5), d(2028, 2, 29));
        // Age: 22 on 2023-02-28, 23 from 2023-03-01.
        assert_eq!(age_on(birth, d(2023, 2, 28)), 22);
        assert_eq!(age_on(birth, d(2023, 3, 1)), 23);
    }

    #[test]
    fn the_majority_rule_follows_the_application_date() {
        // 19 at issue: a minor before 2022-04-01 (5 birthdays), an adult from then on (10).
        let birth = d(2003, 1, 15);
        let before = card_validity(birth, d(2022, 3, 31), d(2022, 3, 31), None);
        assert_eq!(
            (before.age_at_issue, before.majority_age, before.birthdays),
            (19, 20, 5)
        );
        assert_eq!(before.expires, d(2027, 1, 15));
        let after = card_validity(birth, d(2022, 4, 1), d(2022, 4, 1), None);
        assert_eq!(
            (after.age_at_issue, after.majority_age, after.birthdays),
            (19, 18, 10)
        );
        assert_eq!(after.expires, d(2032, 1, 15));
        // Applied before the change, issued after: the old rule.
        let straddle = card_validity(birth, d(2022, 4, 20), d(2022, 3, 20), None);
        assert_eq!(straddle.birthdays, 5);
    }

    #[test]
    fn ages_19_and_20_before_the_change() {
        let issued = d(2021, 6, 1);
        let nineteen = card_validity(d(2001, 6, 2), issued, issued, None);
        assert_eq!((nineteen.age_at_issue, nineteen.birthdays), (19, 5));
        let twenty = card_validity(d(2001, 6, 1), issued, issued, None);
        assert_eq!((twenty.age_at_issue, twenty.birthdays), (20, 10));
    }

    #[test]
    fn ages_17_and_18_after_the_change() {
        let issued = d(2024, 6, 1);
        let seventeen = card_validity(d(2006, 6, 2), issued, issued, None);
        assert_eq!((seventeen.age_at_issue, seventeen.birthdays), (17, 5));
        let eighteen = card_validity(d(2006, 6, 1), issued, issued, None);
        assert_eq!((eighteen.age_at_issue, eighteen.birthdays), (18, 10));
    }

    #[test]
    fn fourteen_and_fifteen_for_the_signature_certificate() {
        let issued = d(2024, 6, 1);
        assert!(!signature_certificate_allowed(age_on(
            d(2009, 6, 2),
            issued
        )));
        assert!(signature_certificate_allowed(age_on(d(2009, 6, 1), issued)));
    }

    #[test]
    fn certificates_never_outlive_the_card() {
        // A foreign resident whose stay ends before the 5th birthday.
        let v = card_validity(
            d(1990, 1, 1),
            d(2024, 6, 1),
            d(2024, 6, 1),
            Some(d(2026, 3, 31)),
        );
        assert_eq!(v.expires, d(2026, 3, 31));
        assert_eq!(
            certificate_expiry(d(1990, 1, 1), d(2024, 6, 1), v.expires),
            d(2026, 3, 31)
        );
        // A minor: card and certificates both end on the 5th birthday.
        let v = card_validity(d(2012, 9, 9), d(2024, 6, 1), d(2024, 6, 1), None);
        assert_eq!(v.expires, d(2028, 9, 9));
        assert_eq!(
            certificate_expiry(d(2012, 9, 9), d(2024, 6, 1), v.expires),
            v.expires
        );
    }
}
