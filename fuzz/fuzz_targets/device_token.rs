//! Device tokens from a cookie: `DeviceToken::from_cookie` of any text, checked by
//! `flow::device::recognise` and `flow::sign_in::decide`. Recognised exactly when it
//! is the token issued (surrounding white space aside), before it expires.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use mfa_kit::flow::{device, sign_in};
use mfa_kit::policy::{Decision, SignInContext, StandardPolicy};
use mfa_kit::record::DeviceToken;
use mfa_kit::{Reason, flow::Env, flow::Rules};
use mfa_kit_fuzz::{Fixture, fixture, hash_key};

#[derive(Debug, Arbitrary)]
enum Cookie<'a> {
    Text(&'a str),
    /// The issued token with text around it.
    Issued {
        before: &'a str,
        after: &'a str,
    },
}

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    cookie: Cookie<'a>,
    later: u32,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|input: Input<'_>| {
    let fixture = FIXTURE.get_or_init(fixture);
    let issued = fixture.device_token.as_str();
    let text = match input.cookie {
        Cookie::Text(text) => text.to_string(),
        Cookie::Issued { before, after } => format!("{before}{issued}{after}"),
    };
    let token = DeviceToken::from_cookie(&text);
    assert_eq!(token.as_str(), text.trim());
    assert!(!format!("{token:?}").contains(issued));

    let key = hash_key();
    let now = fixture.now + u64::from(input.later);
    let (policy, rules) = (StandardPolicy::new(), Rules::DEFAULT);
    let context = SignInContext::default().with_device_token(token.clone());
    let env = Env::new(now, &policy, &context, &rules);
    let found = device::recognise(&fixture.record, &key, &token, &env);
    let stored = mfa_kit::record::DeviceInfo::from(&fixture.record.devices()[0]);
    let good = token.as_str() == issued && now < stored.expires_at;
    assert_eq!(found.is_some(), good, "{text:?} at {now}");

    let mut record = fixture.record.clone();
    let step = sign_in::decide(&mut record, Some(&key), &env);
    assert!(!step.changed && record == fixture.record, "a decision that lets in or asks changes nothing");
    match step.outcome {
        Ok(Decision::Allow { reason: Reason::RememberedDevice }) => assert!(good),
        Ok(Decision::Challenge { .. }) => assert!(!good),
        other => panic!("an enrolled user is allowed or challenged, not {other:?}"),
    }
});
