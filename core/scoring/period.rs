//! A scoring period as closes and ledgers name it: a month (`2025-03`), a
//! quarter (`2025Q1`) or a year (`2025`), in one text form.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InputError;
use crate::policy::PeriodKind;
use crate::primitives::{Month, Quarter, Year};

/// A calendar month, quarter or year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// A month.
    Month(Month),
    /// A quarter.
    Quarter(Quarter),
    /// A year.
    Year(Year),
}

impl Period {
    /// The period of `kind` holding `date`.
    pub fn of(kind: PeriodKind, date: NaiveDate) -> Period {
        match kind {
            PeriodKind::Month => Period::Month(Month::of(date)),
            PeriodKind::Quarter => Period::Quarter(Quarter::of(date)),
            PeriodKind::Year => Period::Year(Year::of(date)),
        }
    }

    /// Its kind.
    pub fn kind(self) -> PeriodKind {
        match self {
            Period::Month(_) => PeriodKind::Month,
            Period::Quarter(_) => PeriodKind::Quarter,
            Period::Year(_) => PeriodKind::Year,
        }
    }

    /// Its months in order.
    pub fn months(self) -> Vec<Month> {
        match self {
            Period::Month(month) => vec![month],
            Period::Quarter(quarter) => quarter.months().to_vec(),
            Period::Year(year) => year.months().collect(),
        }
    }

    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.months()[0].first_day()
    }

    /// Its last day.
    pub fn last_day(self) -> NaiveDate {
        self.months()[self.months().len() - 1].last_day()
    }

    /// Whether `date` falls in it.
    pub fn contains(self, date: NaiveDate) -> bool {
        self.first_day() <= date && date <= self.last_day()
    }
}

/// The name of a period kind, for messages.
pub fn kind_name(kind: PeriodKind) -> &'static str {
    match kind {
        PeriodKind::Month => "month",
        PeriodKind::Quarter => "quarter",
        PeriodKind::Year => "year",
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month(month) => month.fmt(f),
            Period::Quarter(quarter) => quarter.fmt(f),
            Period::Year(year) => year.fmt(f),
        }
    }
}

impl FromStr for Period {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Period, InputError> {
        if text.contains('Q') {
            return text.parse().map(Period::Quarter);
        }
        if text.contains('-') {
            return text.parse().map(Period::Month);
        }
        match text.parse::<i32>() {
            Ok(year) if text.len() == 4 => Ok(Period::Year(Year(year))),
            _ => Err(InputError::BadPeriod {
                text: text.to_owned(),
                expected: "YYYY-MM, YYYYQn or YYYY",
            }),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Period {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Period".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}(-[0-9]{2}|Q[1-4])?$",
            "description": "A month (2025-03), a quarter (2025Q1) or a year (2025)."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_form_parses_and_bounds_its_days() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let quarter: Period = "2025Q2".parse().unwrap();
        assert_eq!(quarter.first_day(), day(2025, 4, 1));
        assert_eq!(quarter.last_day(), day(2025, 6, 30));
        assert!(quarter.contains(day(2025, 5, 31)) && !quarter.contains(day(2025, 7, 1)));
        let year: Period = "2024".parse().unwrap();
        assert_eq!(year.months().len(), 12);
        assert_eq!(year.last_day(), day(2024, 12, 31));
        assert_eq!("2025-02".parse::<Period>().unwrap().to_string(), "2025-02");
        assert_eq!(
            Period::of(PeriodKind::Quarter, day(2025, 11, 3)).to_string(),
            "2025Q4"
        );
        for bad in ["25", "2025Q5", "2025-13", "March", ""] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
