//! Every enum a host shows or stores has a stable id: `Display` and `FromStr` round
//! trip, and the id is the serialised form, so a column written through serde and one
//! written through `to_string` hold the same text.

use std::fmt::Display;
use std::str::FromStr;

use mfa_kit::policy::{BackupRule, Level, Preset};
use mfa_kit::{Cleared, Method, Purpose, Reason, Revocation, Role, SensitiveAction};
use mfa_kit::{EnrollmentRejection, RejectionReason, ResetMode, UnknownId, Voided};
use serde::Serialize;

fn check<T>(all: &[T])
where
    T: Copy + Display + FromStr<Err = UnknownId> + Serialize + PartialEq + std::fmt::Debug,
{
    let mut seen = std::collections::BTreeSet::new();
    for value in all {
        let id = value.to_string();
        assert_eq!(serde_json::to_string(value).unwrap(), format!("\"{id}\""), "{value:?}");
        assert_eq!(id.parse::<T>().unwrap(), *value);
        assert!(seen.insert(id.clone()), "{id} twice");
    }
    let unknown = "not-an-id".parse::<T>().unwrap_err();
    assert!(unknown.to_string().contains("not-an-id"), "{unknown}");
    assert!(unknown.to_string().contains(&all[0].to_string()), "the error lists the ids: {unknown}");
}

#[test]
fn every_shown_or_stored_enum_round_trips_through_its_stable_id() {
    check(Method::ALL);
    check(Role::ALL);
    check(Purpose::ALL);
    check(Reason::ALL);
    check(RejectionReason::ALL);
    check(EnrollmentRejection::ALL);
    check(Cleared::ALL);
    check(Voided::ALL);
    check(Revocation::ALL);
    check(ResetMode::ALL);
    check(SensitiveAction::ALL);
    check(Level::ALL);
    check(BackupRule::ALL);
    check(Preset::ALL);
    assert_eq!("mandatory".parse::<Level>(), Ok(Level::Mandatory), "a form field, without serde_json");
    #[cfg(feature = "messages")]
    check(mfa_kit::messages::Language::ALL);
}

#[test]
fn compliance_states_read_in_words_and_name_themselves_by_id() {
    use mfa_kit::flow::oversight::Compliance;

    let words: Vec<(String, &str)> = [
        Compliance::SetUp,
        Compliance::Required { deadline: Some(1_800_000_000) },
        Compliance::Suggested,
        Compliance::NotRequired,
        Compliance::Exempt,
        Compliance::Locked { until: 1_751_362_200 },
        Compliance::Disabled,
    ]
    .iter()
    .map(|state| (state.to_string(), state.as_str()))
    .collect();
    assert_eq!(words[0], ("set up".to_string(), "set_up"));
    assert_eq!(words[1], ("required".to_string(), "required"));
    assert_eq!(words[3], ("not required".to_string(), "not_required"));
    assert_eq!(words[5], ("locked until 2025-07-01 09:30 UTC".to_string(), "locked"));
    assert_eq!(words[6], ("disabled".to_string(), "disabled"));
}

#[test]
fn presets_have_a_title_beside_their_id() {
    use mfa_kit::policy::Preset;

    assert_eq!(Preset::AtoOperationalSecurity.title(), "ATO Operational Security Framework");
    assert_eq!(Preset::NistAal2.title(), "NIST SP 800-63B-4 AAL2");
    assert_eq!(Preset::NistAal2.as_str(), "nist_aal2");
}
