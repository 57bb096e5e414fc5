//! Recovery-code input: the normalising of typed codes
//! (`flow::recovery::test_suite::normalize`, feature `test-suite`) on any text, and
//! `flow::recovery::redeem` of it on an enrolled record with a set of codes. The input
//! is either free text or one of the user's codes rewritten by the fuzzer, so both the
//! refusals and the acceptances are reached.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_kit::Method;
use mfa_kit::event::EventKind;
use mfa_kit::flow::recovery::test_suite::{ALPHABET, SEPARATORS};
use mfa_kit::flow::recovery::{self, CODE_LEN, LEGACY_CODE_LEN};
use mfa_kit_fuzz::{Deployment, Fixture, assert_round_trip, fixture, hash_key};

#[derive(Debug, Arbitrary)]
enum Typed<'a> {
    Text(&'a str),
    /// The user's code `index`, with edits: (position, character) inserted.
    Code {
        index: u8,
        lower: bool,
        edits: Vec<(u8, char)>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// Codes redeemed before, by index, twice over is fine.
    used_before: Vec<u8>,
    typed: Typed<'a>,
    later: u16,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|input: Input<'_>| {
    let fixture = FIXTURE.get_or_init(fixture);
    let typed = match input.typed {
        Typed::Text(text) => text.to_string(),
        Typed::Code { index, lower, edits } => {
            let codes = &fixture.recovery_codes;
            let mut chars: Vec<char> = codes[usize::from(index) % codes.len()].chars().collect();
            if lower {
                chars.iter_mut().for_each(|c| *c = c.to_ascii_lowercase());
            }
            for (at, c) in edits.into_iter().take(8) {
                chars.insert(usize::from(at) % (chars.len() + 1), c);
            }
            chars.into_iter().collect()
        }
    };

    let canonical = recovery::test_suite::normalize(&typed);
    if let Some(canonical) = &canonical {
        // Codes of sets generated before the codes grew still read.
        assert!(canonical.len() == CODE_LEN || canonical.len() == LEGACY_CODE_LEN);
        assert!(canonical.bytes().all(|b| ALPHABET.contains(&b)));
        let stripped: String = typed.trim().chars().filter(|c| !SEPARATORS.contains(c)).collect();
        assert_eq!(stripped.to_ascii_uppercase(), canonical.as_str());
    }
    let matching = fixture
        .recovery_codes
        .iter()
        .position(|code| canonical.as_deref().is_some_and(|c| *c == code.replace('-', "")));

    let deployment = Deployment::standard();
    let key = hash_key();
    let mut record = fixture.record.clone();
    let mut now = fixture.now;
    let mut used = Vec::new();
    for index in input.used_before.into_iter().take(12) {
        let index = usize::from(index) % fixture.recovery_codes.len();
        let step = recovery::redeem(&mut record, &key, &fixture.recovery_codes[index], &deployment.env(now));
        assert_eq!(step.outcome.is_ok(), !used.contains(&index) && !record_was_locked(&step.outcome));
        if step.outcome.is_ok() {
            used.push(index);
        }
        now += 1;
    }
    now += u64::from(input.later);
    let before = record.clone();
    let step = recovery::redeem(&mut record, &key, &typed, &deployment.env(now));
    let locked = before.failures().is_locked(now);
    match (&step.outcome, matching) {
        (Ok(proven), Some(index)) => {
            assert!(!used.contains(&index), "a used recovery code was accepted again");
            assert!(!locked, "accepted during a lockout");
            assert_eq!((proven.method, proven.drift, proven.at), (Method::RecoveryCode, None, now));
            assert!(step.changed);
            assert!(step.events.iter().any(|e| matches!(e, EventKind::CodeAccepted { .. })));
            assert_eq!(
                record.recovery_codes().map(|r| r.remaining()),
                before.recovery_codes().map(|r| r.remaining() - 1)
            );
        }
        (Ok(_), None) => panic!("{typed:?} is none of the user's codes, yet it was accepted"),
        (Err(_), Some(index)) => {
            assert!(used.contains(&index) || locked, "an unused code was refused: {typed:?}")
        }
        (Err(_), None) => {}
    }
    if step.outcome.is_err() {
        assert!(!step.events.iter().any(|e| matches!(e, EventKind::CodeAccepted { .. })));
        assert_eq!(record.last_proof(), before.last_proof());
        assert_eq!(
            record.recovery_codes().map(|r| r.remaining()),
            before.recovery_codes().map(|r| r.remaining())
        );
    }
    if !step.changed {
        assert!(record == before, "changed == false, yet the record changed");
    }
    assert_round_trip(&record);
});

fn record_was_locked<T>(outcome: &mfa_kit::Outcome<T>) -> bool {
    matches!(outcome, Err(mfa_kit::Refusal::LockedOut { .. }))
}
