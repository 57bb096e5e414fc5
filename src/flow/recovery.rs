//! Recovery codes: single-use codes shown once, for when the phone is lost (R16).
//!
//! A set (10 by default) of codes of 15 characters from an alphabet without look-alike
//! characters (no 0/O, 1/I/L), 74.3 bits each (NIST SP 800-63B-4 §4.2 asks at least 64
//! for saved recovery codes), shown in three groups of five for reading aloud:
//! `7KQMR-Z4DX9-ABCDE`. Only keyed hashes are stored. A code is accepted with or
//! without separators and in any letter case, once; a second try says "already used".
//! Regenerating replaces the whole set.
//!
//! Codes of sets generated before (12 characters, `7KQM-RZ4D-X9AB`, 59.45 bits) still
//! redeem: the stored hash is of the normalised text, and normalising accepts both
//! lengths. Under a policy that asks for it
//! ([`crate::policy::Policy::replace_recovery_codes_after_use`], on under the NIST
//! preset), redeeming a code marks the set for replacement
//! ([`crate::record::RecoveryCodes::replacement_due`]) and emits
//! [`EventKind::RecoveryCodesReplacementDue`], so the host prompts the user to generate
//! a new set.

use std::fmt;

use zeroize::Zeroizing;

use super::{Env, Failure, Proven, Step, run_in, try_run_in};
use crate::event::EventKind;
use crate::keyed_hash::HashKey;
use crate::otp::SecretError;
use crate::record::{RecoveryCodes, RecoveryEntry, UserRecord};
use crate::vocabulary::{Method, RejectionReason, SensitiveAction, UserId};

/// The symbols of a recovery code: digits and capitals without 0, 1, I, L and O.
pub(crate) const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Symbols in a code: 15 × log2(31) ≈ 74.3 bits, at least the 64 bits NIST SP
/// 800-63B-4 §4.2 asks of saved recovery codes.
pub const CODE_LEN: usize = 15;
/// Symbols in a code of a set generated before codes grew to [`CODE_LEN`]
/// (12 × log2(31) ≈ 59.45 bits); such codes still redeem.
pub const LEGACY_CODE_LEN: usize = 12;
/// Symbols per group when shown.
pub(crate) const GROUP_LEN: usize = 5;
/// Codes in a set unless asked otherwise.
pub const DEFAULT_COUNT: usize = 10;
/// The most codes a set holds: rules asking for more ([`super::Rules::recovery_codes`])
/// make sets of this many.
pub const MAX_COUNT: usize = 100;
/// At or below this many unused codes the user is warned (an audit event).
pub const LOW_WATERMARK: usize = 2;
/// The separators accepted between symbols when a code is typed.
pub(crate) const SEPARATORS: &[char] = &[' ', '-', '_', '.', '\t'];

const PURPOSE: &str = "mfa-kit recovery code v1";

/// How typed codes are read, for test suites and fuzz targets that check it (feature
/// `test-suite`); not part of the API.
#[cfg(feature = "test-suite")]
#[doc(hidden)]
pub mod test_suite {
    use zeroize::Zeroizing;

    /// The symbols of a recovery code.
    pub const ALPHABET: &[u8; 31] = super::ALPHABET;
    /// The separators accepted between symbols.
    pub const SEPARATORS: &[char] = super::SEPARATORS;

    /// The canonical form of a typed code, or `None`.
    pub fn normalize(input: &str) -> Option<Zeroizing<String>> {
        super::normalize(input)
    }
}

/// One recovery code in its shown form (`7KQMR-Z4DX9-AB3CD`: fifteen symbols in groups
/// of five). Wiped from memory when
/// dropped; `Debug` does not show it.
#[derive(Clone)]
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    /// The code, grouped, to show the user once.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Constant-time, like every comparison of what a user holds.
impl PartialEq for RecoveryCode {
    fn eq(&self, other: &Self) -> bool {
        crate::otp::ct::bytes_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for RecoveryCode {}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// The canonical form of a typed code: separators removed, upper case, exactly
/// [`CODE_LEN`] (or, for a set generated before, [`LEGACY_CODE_LEN`]) symbols of
/// [`ALPHABET`]; `None` for anything else.
pub(crate) fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let mut canonical = Zeroizing::new(String::with_capacity(CODE_LEN));
    for c in input.trim().chars().filter(|c| !SEPARATORS.contains(c)) {
        let upper = c.to_ascii_uppercase();
        if !upper.is_ascii() || !ALPHABET.contains(&(upper as u8)) || canonical.len() == CODE_LEN {
            return None;
        }
        canonical.push(upper);
    }
    matches!(canonical.len(), CODE_LEN | LEGACY_CODE_LEN).then_some(canonical)
}

/// A new set of `count` codes for `user`: the codes to show once, and what to store.
fn draw(
    key: &HashKey,
    user: &UserId,
    count: usize,
    now: u64,
) -> Result<(Vec<RecoveryCode>, RecoveryCodes), SecretError> {
    let count = count.clamp(1, MAX_COUNT);
    let mut shown = Vec::with_capacity(count);
    let mut entries = Vec::with_capacity(count);
    let mut draws = crate::otp::random::Draws::new();
    while shown.len() < count {
        let mut canonical = Zeroizing::new(String::with_capacity(CODE_LEN));
        for _ in 0..CODE_LEN {
            canonical.push(char::from(ALPHABET[usize::from(draws.below(31)?)]));
        }
        let hash = key.hash(PURPOSE, user, &[canonical.as_bytes()]);
        if entries.iter().any(|e: &RecoveryEntry| e.hash.matches(&hash)) {
            continue; // A repeat in one set (odds 2^-74): draw again.
        }
        let mut grouped = Zeroizing::new(String::with_capacity(CODE_LEN + CODE_LEN / GROUP_LEN));
        for (i, c) in canonical.chars().enumerate() {
            if i > 0 && i % GROUP_LEN == 0 {
                grouped.push('-');
            }
            grouped.push(c);
        }
        shown.push(RecoveryCode(grouped));
        entries.push(RecoveryEntry { hash, used_at: None });
    }
    Ok((shown, RecoveryCodes { generated_at: now, entries, replacement_due: false }))
}

/// The index of the unused entry `input` names, or why there is none. Every entry is
/// compared, with no early exit.
fn lookup(record: &UserRecord, key: &HashKey, input: &str) -> Result<usize, RejectionReason> {
    let canonical = normalize(input).ok_or(RejectionReason::Malformed)?;
    let codes = record.recovery.as_ref().ok_or(RejectionReason::Wrong)?;
    let hash = key.hash(PURPOSE, &record.user, &[canonical.as_bytes()]);
    let mut found = None;
    for (index, entry) in codes.entries.iter().enumerate() {
        if entry.hash.matches(&hash) && found.is_none() {
            found = Some(index);
        }
    }
    let index = found.ok_or(RejectionReason::Wrong)?;
    match codes.entries.get(index) {
        Some(entry) if entry.used_at.is_none() => Ok(index),
        _ => Err(RejectionReason::AlreadyUsed),
    }
}

/// A new set of recovery codes for a user with MFA, replacing any older set (R16):
/// the codes to show once. Needs a second factor proved within the policy's window
/// ([`super::step_up`]); a confirmation of the user's first factor is one. Only their keyed hashes are kept in the record.
///
/// # Errors
/// [`Failure::RandomSource`] if the operating system's random source fails.
pub fn generate(
    record: &mut UserRecord,
    key: &HashKey,
    env: &Env<'_>,
) -> Result<Step<Vec<RecoveryCode>>, Failure> {
    try_run_in(record, env, |draft| {
        if let Some(refused) = draft.refuse_address(env) {
            return Ok(Err(refused));
        }
        // Step-up refuses a frozen account, a locked factor and a user with no MFA
        // (`NotEnrolled`), in that order, before it asks for a fresh proof.
        if let Some(refused) = super::step_up::require(draft, SensitiveAction::RegenerateRecoveryCodes, env) {
            return Ok(Err(refused));
        }
        let (shown, stored) = draw(key, &draft.get().user, env.rules.recovery_codes, env.now)?;
        draft.edit().recovery = Some(Box::new(stored));
        draft.protection_changed();
        draft.emit(EventKind::RecoveryCodesGenerated { count: shown.len() });
        Ok(Ok(shown))
    })
}

/// Redeems a typed recovery code instead of the app: single use, compared in constant
/// time over the whole set, failures counted towards the lockout. A code of the current
/// length or of a set generated before ([`LEGACY_CODE_LEN`]) is read. Where the policy
/// asks for a new set after any use, the set is marked for replacement and
/// [`EventKind::RecoveryCodesReplacementDue`] emitted: prompt the user to generate one.
pub fn redeem(record: &mut UserRecord, key: &HashKey, input: &str, env: &Env<'_>) -> Step<Proven> {
    let method = Method::RecoveryCode;
    run_in(record, env, |draft| {
        if let Some(refused) = draft.screen(env, method) {
            return Err(refused);
        }
        if let Some(refused) = draft.refuse_if_locked(method, env.now) {
            return Err(refused);
        }
        let index = match lookup(draft.get(), key, input) {
            Ok(index) => index,
            Err(RejectionReason::Malformed) => return Err(draft.malformed(method, env.now)),
            Err(reason) => {
                return Err(draft.count_failure(method, reason, env.now, super::Draft::lockout(env)));
            }
        };
        let replace = env.policy.replace_recovery_codes_after_use(env.context);
        let mut remaining = 0;
        if let Some(codes) = draft.edit().recovery.as_mut() {
            if let Some(entry) = codes.entries.get_mut(index) {
                entry.used_at = Some(env.now);
            }
            codes.replacement_due |= replace;
            remaining = codes.remaining();
        }
        let proven = draft.succeed(method, env.now, None);
        if env.policy.recovery_code_ends_other_sessions(env.context) {
            draft.protection_changed();
        }
        if remaining == 0 {
            draft.emit(EventKind::RecoveryCodesExhausted);
        } else if remaining <= LOW_WATERMARK {
            draft.emit(EventKind::RecoveryCodesLow { remaining });
        }
        if replace {
            draft.emit(EventKind::RecoveryCodesReplacementDue { remaining });
        }
        Ok(proven)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::Refusal;
    use proptest::prelude::*;

    #[test]
    fn codes_have_the_promised_shape_and_entropy() {
        let key = HashKey::from_bytes(&[1; 32]).unwrap();
        let (shown, stored) = draw(&key, &UserId::new("a"), 10, 5).unwrap();
        assert_eq!((shown.len(), stored.remaining(), stored.generated_at()), (10, 10, 5));
        assert_eq!((stored.used(), stored.replacement_due()), (0, false));
        for code in &shown {
            let text = code.as_str();
            assert_eq!(text.len(), 17);
            assert_eq!(text.split('-').map(str::len).collect::<Vec<_>>(), vec![5, 5, 5]);
            assert!(normalize(text).is_some());
            assert_eq!(format!("{code:?}"), "RecoveryCode(..)");
        }
        assert!(!ALPHABET.iter().any(|c| b"01ILO".contains(c)));
    }

    /// NIST SP 800-63B-4 §4.2: saved recovery codes carry at least 64 bits. Each symbol
    /// is drawn uniformly from the 31 (rejection sampling in `random::Draws`).
    #[test]
    fn a_saved_recovery_code_carries_at_least_64_bits() {
        let bits = |symbols: usize| symbols as f64 * (ALPHABET.len() as f64).log2();
        assert_eq!(format!("{:.1}", bits(CODE_LEN)), "74.3");
        assert!(bits(CODE_LEN) >= 64.0);
        // The codes of sets generated before carried less; they still redeem.
        assert_eq!(format!("{:.2}", bits(LEGACY_CODE_LEN)), "59.45");
        // 13 symbols (64.4 bits) would be the fewest that reach 64; 15 make three
        // groups of five with room to spare.
        assert!(bits(13) >= 64.0 && bits(LEGACY_CODE_LEN) < 64.0);
    }

    #[test]
    fn a_code_of_a_set_generated_before_still_normalises_to_its_hashed_text() {
        assert_eq!(normalize("7kqm-rz4d-x9ab").as_deref().map(String::as_str), Some("7KQMRZ4DX9AB"));
        assert_eq!(normalize("7KQMR-Z4DX9-ABCDE").as_deref().map(String::as_str), Some("7KQMRZ4DX9ABCDE"));
    }

    /// A record holding a set of the given canonical codes, hashed as `draw` hashes
    /// them (the hash is of the normalised text, whatever its length).
    fn record_with(key: &HashKey, canonical: &[&str]) -> UserRecord {
        let mut record = UserRecord::new(UserId::new("sarah"));
        let entries = canonical
            .iter()
            .map(|code| RecoveryEntry {
                hash: key.hash(PURPOSE, &record.user, &[code.as_bytes()]),
                used_at: None,
            })
            .collect();
        record.recovery = Some(Box::new(RecoveryCodes { generated_at: 1, entries, replacement_due: false }));
        record
    }

    fn redeem_with(
        policy: &dyn crate::policy::Policy,
        record: &mut UserRecord,
        key: &HashKey,
        typed: &str,
    ) -> Step<Proven> {
        let context = crate::policy::SignInContext::default();
        redeem(record, key, typed, &Env::new(1_000, policy, &context, &super::super::Rules::DEFAULT))
    }

    #[test]
    fn a_code_of_a_twelve_symbol_set_generated_before_still_redeems_once() {
        let key = HashKey::from_bytes(&[1; 32]).unwrap();
        let mut record = record_with(&key, &["7KQMRZ4DX9AB", "ABCDEFGHJKMN"]);
        let policy = crate::policy::StandardPolicy::new();
        let step = redeem_with(&policy, &mut record, &key, "7kqm rz4d x9ab");
        assert!(
            matches!(step.outcome, Ok(Proven { method: Method::RecoveryCode, .. })),
            "{:?}",
            step.outcome
        );
        let codes = record.recovery_codes().unwrap();
        assert_eq!((codes.used(), codes.remaining(), codes.replacement_due()), (1, 1, false));
        let again = redeem_with(&policy, &mut record, &key, "7KQM-RZ4D-X9AB");
        assert!(matches!(again.outcome, Err(Refusal::CodeReused { .. })), "{:?}", again.outcome);
        // A stored set from before reads as not due for replacement.
        let stored = r#"{"generated_at":1,"entries":[]}"#;
        let old: RecoveryCodes = serde_json::from_str(stored).unwrap();
        assert!(!old.replacement_due());
        assert_eq!(serde_json::to_string(&old).unwrap(), stored, "written as before");
    }

    #[test]
    fn under_the_nist_preset_redeeming_a_code_makes_replacing_the_set_due() {
        let key = HashKey::from_bytes(&[1; 32]).unwrap();
        let (shown, stored) = draw(&key, &UserId::new("sarah"), 10, 5).unwrap();
        let mut record = UserRecord::new(UserId::new("sarah"));
        record.recovery = Some(Box::new(stored));
        let policy = crate::policy::StandardPolicy::nist_aal2();
        let step = redeem_with(&policy, &mut record, &key, shown[3].as_str());
        assert!(step.outcome.is_ok(), "{:?}", step.outcome);
        assert!(step.events.contains(&EventKind::RecoveryCodesReplacementDue { remaining: 9 }));
        let codes = record.recovery_codes().unwrap();
        assert_eq!((codes.used(), codes.replacement_due()), (1, true));
        // Still due after a wrong code; a refusal changes nothing of it.
        let wrong = redeem_with(&policy, &mut record, &key, "22222-22222-22222");
        assert!(
            wrong.outcome.is_err()
                && !wrong.events.iter().any(|e| matches!(e, EventKind::RecoveryCodesReplacementDue { .. }))
        );
        assert!(record.recovery_codes().unwrap().replacement_due());
    }

    #[test]
    fn under_the_standard_rules_redeeming_a_code_prompts_no_replacement() {
        let key = HashKey::from_bytes(&[1; 32]).unwrap();
        let (shown, stored) = draw(&key, &UserId::new("sarah"), 10, 5).unwrap();
        let mut record = UserRecord::new(UserId::new("sarah"));
        record.recovery = Some(Box::new(stored));
        let step = redeem_with(&crate::policy::StandardPolicy::new(), &mut record, &key, shown[0].as_str());
        assert!(step.outcome.is_ok());
        assert!(!step.events.iter().any(|e| matches!(e, EventKind::RecoveryCodesReplacementDue { .. })));
        assert!(!record.recovery_codes().unwrap().replacement_due());
    }

    #[test]
    fn normalization_refuses_other_input() {
        for bad in [
            "",
            "7KQM-RZ4D-X9A",
            "7KQM-RZ4D-X9ABC",
            "7KQMR-Z4DX9-ABCD",
            "7KQMR-Z4DX9-ABCDEF",
            "7KQM-RZ4D-X9A0",
            "7KQMR-Z4DX9-ABCD0",
            "7KQM/RZ4D/X9AB",
            "7KQM-RZ4D-X9ÄB",
            "7KQMRZ4DX9AO",
        ] {
            assert!(normalize(bad).is_none(), "{bad}");
        }
    }

    /// A code of the current length or of a set generated before.
    fn valid_code() -> impl Strategy<Value = String> {
        prop_oneof![Just(CODE_LEN), Just(LEGACY_CODE_LEN)]
            .prop_flat_map(|len| proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), len))
            .prop_map(|symbols| symbols.into_iter().map(char::from).collect())
    }

    proptest! {
        /// Every separator and case variant of a valid code normalises to it.
        #[test]
        fn separator_and_case_variants_are_accepted(
            code in valid_code(),
            separators in proptest::collection::vec(proptest::option::of(proptest::sample::select(SEPARATORS.to_vec())), CODE_LEN + 1),
            lower in proptest::collection::vec(any::<bool>(), CODE_LEN),
        ) {
            let len = code.len();
            let mut typed = String::new();
            for (i, c) in code.chars().enumerate() {
                if let Some(separator) = separators[i] {
                    typed.push(separator);
                }
                typed.push(if lower[i] { c.to_ascii_lowercase() } else { c });
            }
            if let Some(separator) = separators[len] {
                typed.push(separator);
            }
            let canonical = normalize(&typed);
            prop_assert_eq!(canonical.as_deref().map(String::as_str), Some(code.as_str()));
        }

        /// And nothing else: whatever normalises is the code with only separators
        /// removed and letters upper-cased.
        #[test]
        fn nothing_else_is_accepted(input in "[ -~]{0,24}|[2-9A-Za-z\\-_. ]{10,20}|.{0,18}") {
            if let Some(canonical) = normalize(&input) {
                let stripped: String = input.trim().chars().filter(|c| !SEPARATORS.contains(c)).collect();
                prop_assert_eq!(stripped.to_ascii_uppercase(), canonical.as_str());
                prop_assert!(canonical.bytes().all(|b| ALPHABET.contains(&b)));
                prop_assert!(canonical.len() == CODE_LEN || canonical.len() == LEGACY_CODE_LEN);
            }
        }

        /// A code with one symbol replaced by a non-alphabet character is refused.
        #[test]
        fn a_foreign_symbol_is_refused(code in valid_code(), at in 0..LEGACY_CODE_LEN, foreign in "[01ILOilo!@#/\\\\é中]") {
            let mut chars: Vec<char> = code.chars().collect();
            chars[at] = foreign.chars().next().unwrap();
            let typed: String = chars.into_iter().collect();
            prop_assert!(normalize(&typed).is_none(), "{}", typed);
        }
    }
}
