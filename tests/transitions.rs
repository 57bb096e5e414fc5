//! A host that drives the pure transitions itself, over its own store, gets the same
//! behaviour and the same audit trail as one that uses the service: enrollment,
//! sign-in, a replay, recovery codes, an e-mailed code and a remembered device.

use std::collections::HashMap;

use mfa_kit::Purpose;
use mfa_kit::clock::ManualClock;
use mfa_kit::danger::PlaintextSealer;
use mfa_kit::event::{AuditEvent, EventKind};
use mfa_kit::flow::{self, Env, Rules, Step};
use mfa_kit::keyed_hash::HashKey;
use mfa_kit::policy::{Decision, SignInContext, StandardPolicy};
use mfa_kit::prelude::*;
use mfa_kit::record::{DeviceToken, UserRecord};

const T0: u64 = 1_700_000_010 - 10;

/// The host's own store: records with versions, and an audit table, written together.
#[derive(Default)]
struct Ledger {
    records: HashMap<UserId, (u64, UserRecord)>,
    audit: Vec<AuditEvent>,
}

impl Ledger {
    /// Load, run the transition, save the record (if changed) with its events.
    fn drive<T>(
        &mut self,
        user: &UserId,
        now: u64,
        transition: impl FnOnce(&mut UserRecord) -> Step<T>,
    ) -> Outcome<T> {
        let (version, mut record) =
            self.records.get(user).cloned().unwrap_or_else(|| (0, UserRecord::new(user.clone())));
        let step = transition(&mut record);
        let context = RequestContext::default();
        let events = step.events.into_iter().map(|kind| AuditEvent::new(user, user, now, &context, kind));
        if step.changed {
            // A database would do this in one transaction, `WHERE version = $n`.
            assert_eq!(self.records.get(user).map_or(0, |(v, _)| *v), version);
            self.records.insert(user.clone(), (version + 1, record));
        }
        self.audit.extend(events);
        step.outcome
    }
}

/// Device ids are random: compare events with them masked.
fn normalised(events: &[AuditEvent]) -> Vec<AuditEvent> {
    let mut events = events.to_vec();
    for event in &mut events {
        match &mut event.kind {
            EventKind::DeviceRemembered { device_id, .. } | EventKind::DeviceAccepted { device_id } => {
                *device_id = "device".into();
            }
            EventKind::DevicesRevoked { device_ids, .. } => {
                device_ids.iter_mut().for_each(|id| *id = "device".into());
            }
            _ => {}
        }
    }
    events
}

/// Keeps the last message, as an e-mail provider would deliver it.
#[derive(Default)]
struct Inbox(std::sync::Mutex<Option<String>>);

impl CodeSender for Inbox {
    type Error = std::convert::Infallible;

    async fn send(
        &self,
        _to: &Destination,
        message: &flow::destination::CodeMessage,
    ) -> Result<(), Self::Error> {
        *self.0.lock().unwrap() = Some(message.code().to_string());
        Ok(())
    }
}

impl Inbox {
    fn last(&self) -> String {
        self.0.lock().unwrap().clone().expect("a code was sent")
    }
}

#[test]
fn the_transitions_alone_give_the_same_outcomes_and_events_as_the_service() {
    let key = HashKey::from_bytes(&[7; 32]).unwrap();
    let policy = StandardPolicy::new();
    let rules = Rules::DEFAULT;
    let context = SignInContext::default();
    let sarah = UserId::new("sarah");
    let email = Destination::email("sarah@smith.example").unwrap();

    // The host driving the transitions.
    let mut ledger = Ledger::default();
    let env = |now| Env::new(now, &policy, &context, &rules);
    let secret = Secret::generate().unwrap();
    let phone = Totp::new(&secret, TotpParams::DEFAULT);
    let sealed = PlaintextSealer.seal(&sarah, &secret).unwrap();
    let code_at = |t: u64| phone.generate(t).unwrap().to_string();

    let mut manual = Vec::new();
    let started = ledger
        .drive(&sarah, T0, |r| flow::enrollment::start(r, sealed, TotpParams::DEFAULT, "sarah", &env(T0)));
    manual.push(format!("{:?}", started.map(|s| s.expires_at)));
    let (first, second) = (code_at(T0), code_at(T0 + 30));
    let confirmed = ledger.drive(&sarah, T0 + 30, |r| {
        flow::enrollment::confirm(r, &phone, &[&first, &second], &env(T0 + 30)).unwrap()
    });
    manual.push(format!("{confirmed:?}"));
    let decision = ledger.drive(&sarah, T0 + 60, |r| flow::sign_in::decide(r, Some(&key), &env(T0 + 60)));
    manual.push(format!("{decision:?}"));
    let code = code_at(T0 + 60);
    for _ in 0..2 {
        let proof = ledger.drive(&sarah, T0 + 60, |r| {
            flow::authenticator::verify(r, &[&phone], &code, &env(T0 + 60)).unwrap()
        });
        manual.push(format!("{proof:?}"));
    }
    let codes =
        ledger.drive(&sarah, T0 + 90, |r| flow::recovery::generate(r, &key, &env(T0 + 90)).unwrap()).unwrap();
    for _ in 0..2 {
        let redeemed = ledger
            .drive(&sarah, T0 + 120, |r| flow::recovery::redeem(r, &key, codes[0].as_str(), &env(T0 + 120)));
        manual.push(format!("{redeemed:?}"));
    }
    let reservation = ledger
        .drive(&sarah, T0 + 150, |r| {
            flow::destination::reserve(r, &key, Role::Backup, Some(email.clone()), &env(T0 + 150)).unwrap()
        })
        .unwrap();
    // The sender took it.
    ledger.drive(&sarah, T0 + 150, |r| flow::destination::confirm_sent(r, &key, &reservation)).unwrap();
    let confirmed = ledger.drive(&sarah, T0 + 180, |r| {
        flow::destination::redeem(
            r,
            &key,
            reservation.message.code(),
            Purpose::ConfirmDestination,
            &env(T0 + 180),
        )
    });
    manual.push(format!("{confirmed:?}"));
    let remembered = ledger
        .drive(&sarah, T0 + 210, |r| {
            flow::device::remember(r, &key, "laptop", 86_400, &env(T0 + 210)).unwrap()
        })
        .unwrap();
    let with_cookie = context.clone().with_device_token(DeviceToken::from_cookie(remembered.token.as_str()));
    let decision = ledger.drive(&sarah, T0 + 240, |r| {
        flow::sign_in::decide(r, Some(&key), &Env::new(T0 + 240, &policy, &with_cookie, &rules))
    });
    manual.push(format!("{decision:?}"));
    let revoked = ledger.drive(&sarah, T0 + 270, flow::device::password_changed);
    manual.push(format!("{revoked:?}"));

    // The same story through the service.
    let clock = ManualClock::new(T0);
    let mfa = MfaService::builder("Smith", MemoryStore::new(), PlaintextSealer)
        .clock(clock.clone())
        .hash_key(key.clone())
        .build();
    let inbox = Inbox::default();
    let mut served = Vec::new();
    pollster::block_on(async {
        let start = mfa.start_enrollment(&sarah, "sarah", &context).await.unwrap().unwrap();
        served.push(format!("{:?}", Ok::<u64, Refusal>(start.expires_at)));
        let app = KeyUri::parse(&start.uri).unwrap();
        let phone = Totp::new(app.secret(), app.totp_params().unwrap());
        let code_at = |t: u64| phone.generate(t).unwrap().to_string();
        clock.set(T0 + 30);
        let confirmed =
            mfa.confirm_enrollment(&sarah, &[&code_at(T0), &code_at(T0 + 30)], &context).await.unwrap();
        served.push(format!("{confirmed:?}"));
        clock.set(T0 + 60);
        served.push(format!("{:?}", mfa.sign_in_decision(&sarah, &context).await.unwrap()));
        let code = code_at(T0 + 60);
        for _ in 0..2 {
            served.push(format!("{:?}", mfa.verify_code(&sarah, &code, &context).await.unwrap()));
        }
        clock.set(T0 + 90);
        let codes = mfa.generate_recovery_codes(&sarah, &context).await.unwrap().unwrap();
        clock.set(T0 + 120);
        for _ in 0..2 {
            served.push(format!(
                "{:?}",
                mfa.redeem_recovery_code(&sarah, codes[0].as_str(), &context).await.unwrap()
            ));
        }
        clock.set(T0 + 150);
        mfa.add_destination(&sarah, email.clone(), Role::Backup, &inbox, &context).await.unwrap().unwrap();
        clock.set(T0 + 180);
        served.push(format!("{:?}", mfa.confirm_destination(&sarah, &inbox.last(), &context).await.unwrap()));
        clock.set(T0 + 210);
        let remembered = mfa.remember_device(&sarah, "laptop", 86_400, &context).await.unwrap().unwrap();
        clock.set(T0 + 240);
        let with_cookie =
            context.clone().with_device_token(DeviceToken::from_cookie(remembered.token.as_str()));
        served.push(format!("{:?}", mfa.sign_in_decision(&sarah, &with_cookie).await.unwrap()));
        clock.set(T0 + 270);
        let revoked = mfa.password_changed(&sarah, &RequestContext::default()).await.unwrap();
        served.push(format!("{:?}", Ok::<usize, Refusal>(revoked)));
    });

    assert_eq!(manual, served);
    assert_eq!(normalised(&ledger.audit), normalised(&mfa.store().events()));
    // And the story is the one told above.
    assert!(manual[3].starts_with("Ok(Proven { method: Totp, drift: Some(0), at: "), "{}", manual[3]);
    assert!(manual[4].contains("CodeReused"));
    assert_eq!(
        manual[8],
        format!("{:?}", Ok::<Decision, Refusal>(Decision::Allow { reason: Reason::RememberedDevice }))
    );
    // Started, confirmed, accepted, replay refused, codes generated, recovery code
    // accepted then refused, destination added, code reserved, code sent, destination
    // confirmed, device remembered, device accepted, password changed, devices revoked.
    assert_eq!(ledger.audit.len(), 15, "{:#?}", ledger.audit);
}
