//! Stable string ids for the enums a host shows or stores: `as_str`, `Display` and
//! `FromStr`, the same names as their serialised form (`snake_case`), which a test
//! checks variant by variant. A host keeps these ids in its own columns, forms and
//! query strings without going through serde.

use thiserror::Error;

/// A text that is none of a type's ids.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{text:?} is not a known {kind}: expected one of {expected}")]
#[allow(
    clippy::exhaustive_structs,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub struct UnknownId {
    /// What was parsed.
    pub text: String,
    /// What it should have been (`method`, `level`, ...).
    pub kind: &'static str,
    /// The ids accepted, comma-separated.
    pub expected: &'static str,
}

/// Implements `as_str`, `ALL`, `Display` and `FromStr` for a field-less enum.
macro_rules! stable_ids {
    ($kind:literal, $name:ty { $($variant:ident => $id:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$(<$name>::$variant),+];

            /// The stable id: the same as the serialised form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(<$name>::$variant => $id),+
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl core::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownId;

            fn from_str(text: &str) -> Result<$name, Self::Err> {
                match text {
                    $($id => Ok(<$name>::$variant),)+
                    _ => Err($crate::vocabulary::UnknownId {
                        text: text.chars().take(64).collect(),
                        kind: $kind,
                        expected: concat!($($id, " "),+),
                    }),
                }
            }
        }
    };
}

pub(crate) use stable_ids;
