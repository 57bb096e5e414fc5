//! Out-of-band code input: `flow::destination::redeem` of any text, for either purpose, at
//! any time, after any number of wrong tries, on a record with a sign-in code pending
//! for its confirmed SMS destination. Accepted exactly when the text is the code sent,
//! once, before it expires and its tries run out.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_kit::event::EventKind;
use mfa_kit::flow::destination;
use mfa_kit::otp::{Code, Digits};
use mfa_kit::{Purpose, Refusal};
use mfa_kit_fuzz::{Deployment, Fixture, assert_round_trip, fixture, hash_key};

#[derive(Debug, Arbitrary)]
enum Typed<'a> {
    Text(&'a str),
    /// The code sent, with spaces inserted at these positions.
    Sent {
        spaces: Vec<u8>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    wrong_tries: Vec<&'a str>,
    typed: Typed<'a>,
    confirm_purpose: bool,
    later: u16,
    twice: bool,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|input: Input<'_>| {
    let fixture = FIXTURE.get_or_init(fixture);
    let deployment = Deployment::standard();
    let key = hash_key();
    let sent = &fixture.oob_code;
    let purpose = if input.confirm_purpose { Purpose::ConfirmDestination } else { Purpose::SignIn };
    let mut record = fixture.record.clone();
    let mut now = fixture.now;
    let is_sent = |text: &str| Code::parse(text, Digits::SIX).is_ok_and(|c| c.to_string() == *sent);

    let mut wrong = 0;
    for text in input.wrong_tries.into_iter().take(8) {
        let before = record.clone();
        let step = destination::redeem(&mut record, &key, text, Purpose::SignIn, &deployment.env(now));
        if step.outcome.is_ok() {
            assert!(is_sent(text) && wrong < 5, "{text:?} accepted");
            return;
        }
        if Code::parse(text, Digits::SIX).is_ok() && before.destination_state().challenge().is_some() {
            wrong += 1;
        }
        now += 1;
    }

    let typed = match input.typed {
        Typed::Text(text) => text.to_string(),
        Typed::Sent { spaces } => {
            let mut chars: Vec<char> = sent.chars().collect();
            for at in spaces.into_iter().take(6) {
                chars.insert(usize::from(at) % (chars.len() + 1), ' ');
            }
            chars.into_iter().collect()
        }
    };
    now += u64::from(input.later);
    for attempt in 0..if input.twice { 2 } else { 1 } {
        let before = record.clone();
        let pending = before.destination_state().challenge().cloned();
        let locked = before.failures().is_locked(now);
        let step = destination::redeem(&mut record, &key, &typed, purpose, &deployment.env(now));
        match &step.outcome {
            Ok(_) => {
                let pending = pending.expect("accepted with no code pending");
                assert!(is_sent(&typed), "{typed:?} is not the code sent, yet it was accepted");
                assert_eq!(attempt, 0, "the same code was accepted twice");
                assert_eq!(pending.purpose(), purpose, "a code was accepted for another purpose");
                assert!(now < pending.expires_at(), "an expired code was accepted");
                assert!(!locked, "accepted during a lockout");
                assert!(record.destination_state().challenge().is_none(), "an accepted code stays valid");
                assert!(step.events.iter().any(|e| matches!(e, EventKind::CodeAccepted { .. })));
            }
            Err(refusal) => {
                assert!(!step.events.iter().any(|e| matches!(e, EventKind::CodeAccepted { .. })));
                assert_eq!(record.last_proof(), before.last_proof());
                let could = attempt == 0
                    && is_sent(&typed)
                    && purpose == Purpose::SignIn
                    && pending.as_ref().is_some_and(|c| now < c.expires_at())
                    && !locked;
                assert!(!could, "the right code, in time, was refused: {refusal:?}");
                if matches!(refusal, Refusal::Malformed) {
                    assert!(Code::parse(&typed, Digits::SIX).is_err());
                }
            }
        }
        if !step.changed {
            assert!(record == before, "changed == false, yet the record changed");
        }
        assert_round_trip(&record);
    }
});
