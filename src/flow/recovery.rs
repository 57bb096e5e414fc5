//! Recovery codes: single-use codes shown once, for when the phone is lost (R16).
//!
//! A set (10 by default) of codes of 12 characters from an alphabet without look-alike
//! characters (no 0/O, 1/I/L), about 59 bits each, shown in three groups of four for
//! reading aloud: `7KQM-RZ4D-X9AB`. Only keyed hashes are stored. A code is accepted
//! with or without separators and in any letter case, once; a second try says "already
//! used". Regenerating replaces the whole set.

use std::fmt;

use zeroize::Zeroizing;

use super::{Env, Failure, Proven, Step, run_in, try_run_in};
use crate::SecretError;
use crate::event::EventKind;
use crate::keyed_hash::HashKey;
use crate::record::{RecoveryCodes, RecoveryEntry, UserRecord};
use crate::vocabulary::{Method, Refusal, RejectionReason, SensitiveAction, UserId};

/// The symbols of a recovery code: digits and capitals without 0, 1, I, L and O.
pub const ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Symbols in a code (12 × log2(31) ≈ 59.4 bits).
pub const CODE_LEN: usize = 12;
/// Symbols per group when shown.
pub const GROUP_LEN: usize = 4;
/// Codes in a set unless asked otherwise.
pub const DEFAULT_COUNT: usize = 10;
/// At or below this many unused codes the user is warned (an audit event).
pub const LOW_WATERMARK: usize = 2;
/// The separators accepted between symbols when a code is typed.
pub const SEPARATORS: &[char] = &[' ', '-', '_', '.', '\t'];

const PURPOSE: &str = "mfa-kit recovery code v1";

/// One recovery code in its shown form (`7KQM-RZ4D-X9AB`). Wiped from memory when
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
        crate::ct::bytes_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for RecoveryCode {}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// The canonical form of a typed code: separators removed, upper case, exactly
/// [`CODE_LEN`] symbols of [`ALPHABET`]; `None` for anything else.
pub fn normalize(input: &str) -> Option<Zeroizing<String>> {
    let mut canonical = Zeroizing::new(String::with_capacity(CODE_LEN));
    for c in input.trim().chars().filter(|c| !SEPARATORS.contains(c)) {
        let upper = c.to_ascii_uppercase();
        if !upper.is_ascii() || !ALPHABET.contains(&(upper as u8)) || canonical.len() == CODE_LEN {
            return None;
        }
        canonical.push(upper);
    }
    (canonical.len() == CODE_LEN).then_some(canonical)
}

/// A new set of `count` codes for `user`: the codes to show once, and what to store.
fn draw(
    key: &HashKey,
    user: &UserId,
    count: usize,
    now: u64,
) -> Result<(Vec<RecoveryCode>, RecoveryCodes), SecretError> {
    let mut shown = Vec::with_capacity(count);
    let mut entries = Vec::with_capacity(count);
    let mut draws = crate::random::Draws::new();
    while shown.len() < count.max(1) {
        let mut canonical = Zeroizing::new(String::with_capacity(CODE_LEN));
        for _ in 0..CODE_LEN {
            canonical.push(char::from(ALPHABET[usize::from(draws.below(31)?)]));
        }
        let hash = key.hash(PURPOSE, user, &[canonical.as_bytes()]);
        if entries.iter().any(|e: &RecoveryEntry| e.hash.matches(&hash)) {
            continue; // A repeat in one set (odds 2^-59): draw again.
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
    Ok((shown, RecoveryCodes { generated_at: now, entries }))
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
        if !super::has_mfa(draft.get(), env) {
            return Ok(Err(Refusal::NotEnrolled));
        }
        if let Some(refused) = super::step_up::require(draft, SensitiveAction::RegenerateRecoveryCodes, env) {
            return Ok(Err(refused));
        }
        let (shown, stored) = draw(key, &draft.get().user, env.rules.recovery_codes, env.now)?;
        draft.edit().recovery = Some(stored);
        draft.protection_changed();
        draft.emit(EventKind::RecoveryCodesGenerated { count: shown.len() });
        Ok(Ok(shown))
    })
}

/// Redeems a typed recovery code instead of the app: single use, compared in constant
/// time over the whole set, failures counted towards the lockout.
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
        let mut remaining = 0;
        if let Some(codes) = draft.edit().recovery.as_mut() {
            if let Some(entry) = codes.entries.get_mut(index) {
                entry.used_at = Some(env.now);
            }
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
        Ok(proven)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_have_the_promised_shape_and_entropy() {
        let key = HashKey::from_bytes(&[1; 32]).unwrap();
        let (shown, stored) = draw(&key, &UserId::new("a"), 10, 5).unwrap();
        assert_eq!((shown.len(), stored.remaining(), stored.generated_at()), (10, 10, 5));
        for code in &shown {
            let text = code.as_str();
            assert_eq!(text.len(), 14);
            assert_eq!(text.split('-').map(str::len).collect::<Vec<_>>(), vec![4, 4, 4]);
            assert!(normalize(text).is_some());
            assert_eq!(format!("{code:?}"), "RecoveryCode(..)");
        }
        let bits = CODE_LEN as f64 * (ALPHABET.len() as f64).log2();
        assert!(bits >= 50.0, "{bits}");
        assert!(!ALPHABET.iter().any(|c| b"01ILO".contains(c)));
    }

    #[test]
    fn normalization_refuses_other_input() {
        for bad in [
            "",
            "7KQM-RZ4D-X9A",
            "7KQM-RZ4D-X9ABC",
            "7KQM-RZ4D-X9A0",
            "7KQM/RZ4D/X9AB",
            "7KQM-RZ4D-X9ÄB",
            "7KQMRZ4DX9AO",
        ] {
            assert!(normalize(bad).is_none(), "{bad}");
        }
    }

    fn valid_code() -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), CODE_LEN)
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
            let mut typed = String::new();
            for (i, c) in code.chars().enumerate() {
                if let Some(separator) = separators[i] {
                    typed.push(separator);
                }
                typed.push(if lower[i] { c.to_ascii_lowercase() } else { c });
            }
            if let Some(separator) = separators[CODE_LEN] {
                typed.push(separator);
            }
            let canonical = normalize(&typed);
            prop_assert_eq!(canonical.as_deref().map(String::as_str), Some(code.as_str()));
        }

        /// And nothing else: whatever normalises is the code with only separators
        /// removed and letters upper-cased.
        #[test]
        fn nothing_else_is_accepted(input in "[ -~]{0,20}|[2-9A-Za-z\\-_. ]{10,16}|.{0,14}") {
            if let Some(canonical) = normalize(&input) {
                let stripped: String = input.trim().chars().filter(|c| !SEPARATORS.contains(c)).collect();
                prop_assert_eq!(stripped.to_ascii_uppercase(), canonical.as_str());
                prop_assert!(canonical.bytes().all(|b| ALPHABET.contains(&b)));
                prop_assert_eq!(canonical.len(), CODE_LEN);
            }
        }

        /// A code with one symbol replaced by a non-alphabet character is refused.
        #[test]
        fn a_foreign_symbol_is_refused(code in valid_code(), at in 0..CODE_LEN, foreign in "[01ILOilo!@#/\\\\é中]") {
            let mut chars: Vec<char> = code.chars().collect();
            chars[at] = foreign.chars().next().unwrap();
            let typed: String = chars.into_iter().collect();
            prop_assert!(normalize(&typed).is_none(), "{}", typed);
        }
    }
}
