//! The five seed counties' rules as ready presets. Figures a seed states are
//! used as stated; where a seed is silent the preset keeps the SPEC default and
//! the preset's file says so.

mod baisha_2019;
mod kunming_2018;
mod longquan_2023;
mod rongan_2023;
mod shangqiu_2019;

use super::{Policy, PolicyError};

/// The names of the built-in presets.
pub const PRESET_NAMES: [&str; 5] = [
    "kunming-2018",
    "longquan-2023",
    "rongan-2023",
    "shangqiu-2019",
    "baisha-2019",
];

/// The preset of this name.
pub fn preset(name: &str) -> Result<Policy, PolicyError> {
    match name {
        "kunming-2018" => Ok(kunming_2018::policy()),
        "longquan-2023" => Ok(longquan_2023::policy()),
        "rongan-2023" => Ok(rongan_2023::policy()),
        "shangqiu-2019" => Ok(shangqiu_2019::policy()),
        "baisha-2019" => Ok(baisha_2019::policy()),
        _ => Err(PolicyError::UnknownPreset {
            name: name.to_owned(),
        }),
    }
}

/// The default categories of every preset: registered-poor and ordinary, uncapped.
fn uncapped_categories(
) -> std::collections::BTreeMap<crate::primitives::Category, super::CategoryCaps> {
    ["poor", "ordinary"]
        .into_iter()
        .map(|c| (c.into(), super::CategoryCaps::default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid_and_round_trips_through_json() {
        for name in PRESET_NAMES {
            let policy = preset(name).unwrap();
            policy.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(policy.name, name);
            let json = serde_json::to_string(&policy).unwrap();
            assert_eq!(Policy::from_json(&json).unwrap(), policy, "{name}");
        }
    }
}
