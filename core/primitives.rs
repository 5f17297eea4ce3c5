//! Identifiers, units and calendar periods shared by every domain object.
//!
//! Ids are host-supplied strings wrapped in newtypes so a household number can
//! never be passed where a card number is expected. Points are whole numbers;
//! money is exact decimal yuan.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::InputError;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.to_owned())
            }
        }
    };
}
pub(crate) use string_id;

string_id!(
    /// The host platform's household number (农户编号).
    HouseholdId
);
string_id!(
    /// A points card number (积分卡号).
    CardNumber
);
string_id!(
    /// An administrative village code (行政村).
    VillageCode
);
string_id!(
    /// A township code (乡镇).
    TownshipCode
);
string_id!(
    /// A county code (县).
    CountyCode
);
string_id!(
    /// A person acting on the engine, authenticated by the host.
    ActorId
);
string_id!(
    /// A household category such as `poor` (建档立卡贫困户) or `ordinary` (一般农户).
    Category
);

/// The most points one posting, transfer, grant, cap or policy figure may
/// state, and one balance or year-to-date figure may hold in a bulk
/// settlement: far above any village's scoring, and low enough that no sum
/// of 2³² of them overflows.
pub const MAX_POINTS: i64 = 1_000_000_000;

/// A whole number of points. Never a float: points are public money.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(transparent)]
pub struct Points(pub i64);

impl Points {
    /// No points.
    pub const ZERO: Points = Points(0);

    /// The raw count.
    pub fn get(self) -> i64 {
        self.0
    }

    /// True for a count below zero.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// True for a count from zero to [`MAX_POINTS`]: a figure a posting, a
    /// transfer, a grant or a policy may state.
    pub fn is_within_bound(self) -> bool {
        (0..=MAX_POINTS).contains(&self.0)
    }

    /// The smaller of two counts.
    pub fn min(self, other: Points) -> Points {
        Points(self.0.min(other.0))
    }

    /// The larger of two counts.
    pub fn max(self, other: Points) -> Points {
        Points(self.0.max(other.0))
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Add for Points {
    type Output = Points;
    fn add(self, rhs: Points) -> Points {
        Points(self.0 + rhs.0)
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, rhs: Points) -> Points {
        Points(self.0 - rhs.0)
    }
}

impl Neg for Points {
    type Output = Points;
    fn neg(self) -> Points {
        Points(-self.0)
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, rhs: Points) {
        self.0 += rhs.0;
    }
}

impl SubAssign for Points {
    fn sub_assign(&mut self, rhs: Points) {
        self.0 -= rhs.0;
    }
}

impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        Points(iter.map(|p| p.0).sum())
    }
}

/// An exact amount of money in yuan. Serialized as a decimal string (`"12.50"`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Yuan(#[serde(with = "rust_decimal::serde::str")] pub Decimal);

impl JsonSchema for Yuan {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Yuan".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "An exact amount in yuan as a decimal string."
        })
    }
}

impl Yuan {
    /// The amount in whole fen (0.01 yuan), as the C and Python surfaces and
    /// bank files carry money; `None` when it is not a whole number of fen or
    /// does not fit 64 bits. Amounts the policy rounded are always whole fen.
    pub fn whole_fen(self) -> Option<i64> {
        let fen = self.0.checked_mul(Decimal::ONE_HUNDRED)?;
        if fen.fract().is_zero() {
            fen.to_i64()
        } else {
            None
        }
    }
}

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A calendar month, written `2025-03`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month `year`-`month`; `None` when `month` is not 1..=12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The year number.
    pub fn year(self) -> Year {
        Year(self.year)
    }

    /// The month number, 1..=12.
    pub fn number(self) -> u32 {
        self.month
    }

    /// The quarter holding this month.
    pub fn quarter(self) -> Quarter {
        Quarter {
            year: self.year,
            quarter: (self.month - 1) / 3 + 1,
        }
    }

    /// The month's first day, the day whose category sets the month's caps.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1)
            .expect("a Month always holds a valid month")
    }

    /// The month's last day.
    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .expect("the day before a month start exists")
    }

    /// The following month.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// A day of this month, when it exists.
    pub fn day(self, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, day)
    }
}

/// A calendar quarter, written `2025Q1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    year: i32,
    quarter: u32,
}

impl Quarter {
    /// The quarter `year`Q`quarter`; `None` when `quarter` is not 1..=4.
    pub fn new(year: i32, quarter: u32) -> Option<Quarter> {
        (1..=4)
            .contains(&quarter)
            .then_some(Quarter { year, quarter })
    }

    /// The quarter a date falls in.
    pub fn of(date: NaiveDate) -> Quarter {
        Month::of(date).quarter()
    }

    /// The quarter's three months in order.
    pub fn months(self) -> [Month; 3] {
        let first = (self.quarter - 1) * 3 + 1;
        [0, 1, 2].map(|i| Month {
            year: self.year,
            month: first + i,
        })
    }

    /// The year number.
    pub fn year(self) -> Year {
        Year(self.year)
    }
}

/// A calendar year, written `2025`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct Year(pub i32);

impl Year {
    /// The year a date falls in.
    pub fn of(date: NaiveDate) -> Year {
        Year(date.year())
    }

    /// The twelve months in order.
    pub fn months(self) -> impl Iterator<Item = Month> {
        (1..=12).map(move |month| Month {
            year: self.0,
            month,
        })
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}Q{}", self.year, self.quarter)
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

impl FromStr for Month {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Month, InputError> {
        let bad = || InputError::BadPeriod {
            text: text.to_owned(),
            expected: "YYYY-MM",
        };
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        let year = year.parse().map_err(|_| bad())?;
        let month = month.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl FromStr for Quarter {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Quarter, InputError> {
        let bad = || InputError::BadPeriod {
            text: text.to_owned(),
            expected: "YYYYQn",
        };
        let (year, quarter) = text.split_once('Q').ok_or_else(bad)?;
        let year = year.parse().map_err(|_| bad())?;
        let quarter = quarter.parse().map_err(|_| bad())?;
        Quarter::new(year, quarter).ok_or_else(bad)
    }
}

macro_rules! text_serde {
    ($name:ident, $pattern:literal) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "pattern": $pattern })
            }
        }
    };
}

text_serde!(Month, "^[0-9]{4}-[0-9]{2}$");
text_serde!(Quarter, "^[0-9]{4}Q[1-4]$");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_trip_through_text() {
        let month: Month = "2025-03".parse().unwrap();
        assert_eq!(month.to_string(), "2025-03");
        assert_eq!(month.quarter().to_string(), "2025Q1");
        assert_eq!(month.year().to_string(), "2025");
        let quarter: Quarter = "2025Q4".parse().unwrap();
        assert_eq!(quarter.months()[2].to_string(), "2025-12");
        assert!("2025-13".parse::<Month>().is_err());
        assert!("2025Q5".parse::<Quarter>().is_err());
        assert!("March".parse::<Month>().is_err());
    }

    #[test]
    fn month_bounds() {
        let feb: Month = "2024-02".parse().unwrap();
        assert_eq!(
            feb.last_day(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(
            "2024-12".parse::<Month>().unwrap().next().to_string(),
            "2025-01"
        );
    }

    #[test]
    fn whole_fen_of_an_amount() {
        let yuan = |text: &str| Yuan(text.parse().unwrap());
        assert_eq!(yuan("12.50").whole_fen(), Some(1250));
        assert_eq!(yuan("-0.07").whole_fen(), Some(-7));
        assert_eq!(yuan("3.000").whole_fen(), Some(300));
        assert_eq!(yuan("0.125").whole_fen(), None);
        assert_eq!(yuan("100000000000000000").whole_fen(), None);
    }
}
