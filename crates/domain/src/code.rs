//! Closed sets of names kept as text: statuses, kinds, warning colours. Each enum spells each
//! variant once, and that spelling is the database column's (its `CHECK` constraint), the JSON's
//! and the forms'. The store reads such a column into the enum and refuses a spelling it does not
//! know, so the layers above never compare strings.
//!
//! Case states and actions are not among them: they are the data of each workflow (a workflow
//! definition names its own states), so they stay text checked against the workflow.

/// A closed set of names stored as text.
pub trait Code: Copy + Sized + 'static {
    /// What the set is, for an error message (e.g. "证照状态").
    const WHAT: &'static str;
    /// Every value, in the order lists show them.
    const ALL: &'static [Self];

    /// The stored spelling.
    fn name(self) -> &'static str;

    /// The value a stored spelling names.
    fn from_name(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == text)
    }
}

/// A stored spelling that names no value of the set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{text}”不是有效的{what}")]
pub struct UnknownCode {
    pub what: &'static str,
    pub text: String,
}

/// Reads a stored spelling into its value.
pub fn parse<T: Code>(text: &str) -> Result<T, UnknownCode> {
    T::from_name(text).ok_or_else(|| UnknownCode { what: T::WHAT, text: text.chars().take(40).collect() })
}

/// Implements [`Code`] for an enum whose inherent `name` and `ALL` already exist.
#[macro_export]
macro_rules! impl_code {
    ($ty:ty, $what:literal) => {
        impl $crate::code::Code for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &<$ty>::ALL;

            fn name(self) -> &'static str {
                <$ty>::name(self)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::DayKind;
    use crate::item::ItemStatus;
    use crate::licence::LicenceStatus;
    use crate::org::SiteKind;
    use crate::role::DataScope;
    use crate::workflow::Warning;

    fn round_trips<T: Code + PartialEq + std::fmt::Debug>() {
        let mut names: Vec<&str> = T::ALL.iter().map(|c| c.name()).collect();
        for c in T::ALL {
            assert_eq!(parse::<T>(c.name()), Ok(*c));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), T::ALL.len(), "{}: one spelling per value", T::WHAT);
        let e = parse::<T>("Valid ").err();
        assert_eq!(e.map(|e| e.to_string()), Some(format!("“Valid ”不是有效的{}", T::WHAT)));
    }

    #[test]
    fn every_set_spells_each_value_once_and_refuses_any_other_spelling() {
        round_trips::<LicenceStatus>();
        round_trips::<ItemStatus>();
        round_trips::<SiteKind>();
        round_trips::<Warning>();
        round_trips::<DataScope>();
        round_trips::<DayKind>();
        round_trips::<crate::queue::TicketClass>();
        round_trips::<crate::queue::TicketState>();
        round_trips::<crate::queue::TicketChannel>();
    }

    /// The JSON spells what the database spells.
    fn json_spells_as_stored<T: Code + serde::Serialize>() {
        for c in T::ALL {
            assert_eq!(serde_json::to_value(c).ok(), Some(serde_json::Value::from(c.name())), "{}", T::WHAT);
        }
    }

    #[test]
    fn the_json_spells_each_value_as_the_database_does() {
        json_spells_as_stored::<LicenceStatus>();
        json_spells_as_stored::<ItemStatus>();
        json_spells_as_stored::<SiteKind>();
        json_spells_as_stored::<Warning>();
    }

    #[test]
    fn an_unknown_spelling_is_cut_by_characters() {
        let long = "状".repeat(100);
        let e = parse::<SiteKind>(&long).err().map(|e| e.text);
        assert_eq!(e.map(|t| t.chars().count()), Some(40));
    }
}
