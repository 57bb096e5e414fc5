# English: the words `Refusal`'s `Display` and `EventKind::sentence` say, word for
# word (a test in `src/messages.rs` compares them).
#
# Ids: `refusal-` and the refusal's stable code (`Refusal::code`); `event-` and the
# event's serialised kind; `event-line*` for a whole audit line. Arguments are named
# after the fields they come from; times arrive formatted for the language. In events,
# methods and roles arrive as words (the `method-*` and `role-*` messages below),
# reasons and modes as their stable ids; in refusals, reasons, roles and session ends
# arrive as their stable ids (`single_sign_on`, `backup`, ...), which the selectors
# turn into words. Every id here must be in every other
# catalogue (`tests/messages.rs` checks). Never put a secret or a code in a message.

## Refusals: what the user is told when a request is refused.

refusal-wrong_code = That code is not right. Check it and try again ({ $attempts_left ->
        [one] { $attempts_left } try left
       *[other] { $attempts_left } tries left
    }).
refusal-code_reused = That code was already used: each code works once. Enter a new one ({ $attempts_left ->
        [one] { $attempts_left } try left
       *[other] { $attempts_left } tries left
    }).
refusal-malformed = That is not a code. Enter the code exactly as shown.
refusal-code_expired = That code has expired. Ask for a new one.
refusal-no_code_pending = No code is waiting to be entered. Ask for a new one.
refusal-locked_out = Too many wrong codes. Try again after { $until }.
refusal-disabled = Too many wrong codes: two-step verification is blocked for this account. Ask your administrator to reset it.
refusal-method_not_allowed = Your organisation does not allow this way of signing in. Choose another.
refusal-fresh_proof_required = For your security, confirm it is you: enter a code again, then retry.
refusal-address_not_allowed = Sign-in is not allowed from this network. Contact your administrator.
refusal-not_enrolled = Two-step verification is not set up for this account. Set up two-step verification first, or ask your administrator.
refusal-invalid_key = That key cannot be used: give the otpauth:// link or the key in letters A-Z and digits 2-7, at least 26 characters long.
refusal-already_enrolled = An authenticator is already set up. Set up the new one with codes from the app instead.
refusal-too_many_authenticators = You have as many authenticator apps as allowed. Remove one before adding another.
refusal-invalid_name = Give the authenticator a name of 1 to 64 characters, such as "Work phone".
refusal-no_pending_enrollment = There is no authenticator set-up in progress. Start again.
refusal-enrollment_expired = The authenticator set-up has expired. Start again.
refusal-same_code_twice = Enter two different codes: wait for the app to show the next one.
refusal-not_consecutive = The two codes must follow each other. Enter the code shown now and the next one.
refusal-two_codes_required = Enter two consecutive codes from the app.
refusal-enrollment_discarded = Too many wrong codes: the set-up was cancelled. Start again.
refusal-confirmation_required = Confirm that you want to turn off two-step verification.
refusal-forbidden = { $reason ->
        [jurisdiction_rule] Two-step verification cannot be turned off for systems connected to tax data in Australia and New Zealand.
        [compliance_preset] Two-step verification cannot be turned off under your compliance settings.
        [level_mandatory] Two-step verification is mandatory in your organisation and cannot be turned off.
        [org_enforced] Two-step verification is mandatory in your organisation and cannot be turned off.
        [single_sign_on] You sign in through your organisation's single sign-on, which handles two-step verification: it cannot be set up here.
       *[other] Your organisation does not allow turning off two-step verification.
    }
refusal-last_factor = This is your last way to confirm it is you. To stop using two-step verification, turn it off instead.
refusal-same_as_primary = The backup phone number or address must differ from the primary one.
refusal-no_destination = { $role ->
        [backup] No backup phone number or e-mail address is set up. Add one, or use another way.
       *[primary] No phone number or e-mail address is set up for codes. Add one, or use another way.
    }
refusal-rate_limited = A code was sent recently. Wait a moment before asking for another: ask again after { $retry_at }.
refusal-remember_disabled = This device cannot be remembered: your organisation does not allow it.
refusal-reason_required = Give a reason for the reset.
refusal-self_reset = You cannot reset your own two-step verification. Ask another administrator.
refusal-actor_without_mfa = Set up two-step verification for your own account first.
refusal-not_permitted = You do not have permission to do this. Ask an administrator who has.
refusal-invalid_settings = The settings were not changed: { $detail }.
refusal-session_ended = { $end ->
        [account_changed] Your account's sign-in settings changed, so you were signed out. Sign in again.
        [lifetime_reached] For your security, sign in again: your session reached its time limit.
        [inactive] You were signed out after a period of inactivity. Sign in again.
        [signed_out] You signed out. Sign in again.
       *[clock_behind] Your session could not be checked. Sign in again.
    }
refusal-key_rejected = Your security key's response was not accepted. Try again with a key registered to this account ({ $attempts_left ->
        [one] { $attempts_left } try left
       *[other] { $attempts_left } tries left
    }).
refusal-key_response_malformed = Your browser's answer from the security key could not be read. Try the key again.
refusal-key_not_registered = Your security key's answer was not accepted, so the key was not added. Try again.
refusal-no_ceremony_pending = No security-key request is waiting. Start again.
refusal-ceremony_expired = The security-key request has expired. Start again.
refusal-key_already_registered = That security key is already registered to your account.
refusal-phishing_resistant_required = Your organisation requires a security key or passkey for your account: use it instead of a code.
refusal-account_frozen = Changes to your two-step verification are frozen because you reported a change you did not make. Ask your administrator to reset it.
refusal-disown_link_invalid = That link is not valid. Use the link in the message exactly as it is.
refusal-disown_link_used = That link was already used: your account's changes are frozen until your administrator resets them.
refusal-disown_link_expired = That link has expired. Contact your administrator.

## Audit events: one sentence per event, for an admin's log.

event-enrollment_started = Started setting up an authenticator app (open until { $expires_at }).
event-enrollment_confirmed = { $replaced ->
        [true] Set up a new authenticator app, replacing the old ones.
       *[false] Set up an authenticator app.
    }
event-authenticator_imported = An authenticator was imported from another system.
event-secrets_resealed = Re-sealed { $count ->
        [one] { $count } secret
       *[other] { $count } secrets
    } under the key "{ $key_id }".
event-authenticator_removed = Removed the authenticator "{ $name }".
event-security_key_registered = Registered the { $discoverable ->
        [true] passkey
       *[false] security key
    } "{ $name }".
event-security_key_removed = Removed the security key "{ $name }".
event-notice_disowned = { $revoked_count ->
        [0] The user reported the change of event { $event_id } as not theirs: MFA changes frozen, devices and sessions ended.
       *[other] The user reported the change of event { $event_id } as not theirs: revoked { $revoked }; MFA changes frozen, devices and sessions ended.
    }
event-disown_refused = A "this wasn't me" link was refused ({ $refusal }).
event-authenticator_renamed = Renamed an authenticator to "{ $name }".
event-security_key_counter_regressed = The security key { $authenticator } presented signature counter { $presented }, not above { $stored }: it may be cloned ({ $accepted ->
        [true] accepted under the policy
       *[false] refused
    }).
event-enrollment_rejected = An authenticator set-up code was refused ({ $reason }).
event-enrollment_expired = An authenticator set-up expired before it was confirmed.
event-enrollment_refused = Setting up an authenticator was refused ({ $refusal }).
event-code_accepted = { $drift ->
        [none] Signed in with { $method }.
       *[other] Signed in with { $method } (the app's clock { $drift } steps off).
    }
event-code_rejected = Refused { $method } ({ $reason }); { $consecutive_failures } failed in a row.
event-resynchronised = The authenticator app was resynchronised ({ $drift } steps).
event-lockout_started = Locked out after too many wrong codes, until { $until }.
event-lockout_ended = The lockout ended.
event-second_factor_disabled = Two-step verification was blocked after { $failures } failures without a success, until an admin resets it.
event-deactivated = Turned two-step verification off.
event-deactivation_refused = Turning two-step verification off was refused ({ $reason }).
event-reset_by_admin = An admin reset two-step verification ("{ $reason }"); cleared: { $cleared }; { $mode ->
        [turn_off] two-step verification is off
       *[other] the user sets it up again at the next sign-in
    }.
event-recovery_codes_generated = { $count ->
        [one] Generated { $count } new recovery code.
       *[other] Generated { $count } new recovery codes.
    }
event-recovery_codes_low = { $remaining ->
        [one] Only { $remaining } recovery code is left.
       *[other] Only { $remaining } recovery codes are left.
    }
event-recovery_codes_exhausted = Every recovery code has been used.
event-recovery_codes_replacement_due = A recovery code was used; the set should be replaced ({ $remaining } left).
event-backup_code_reserved = Prepared { $method } for { $to }.
event-backup_code_sent = Sent { $method } to { $to }.
event-backup_code_discarded = Discarded { $method } after too many wrong tries.
event-backup_code_not_sent = { $method_start } could not be sent; it was taken back.
event-backup_code_lapsed = A code for the { $role } destination lapsed: its sending was never confirmed.
event-backup_destination_added = Added { $to } as the { $role } destination (to be confirmed).
event-backup_destination_confirmed = Confirmed { $to } as the { $role } destination.
event-backup_destination_removed = Removed the { $role } destination.
event-backup_destination_withdrawn = Took back the { $role } destination, never confirmed.
event-device_remembered = Remembered the device "{ $label }" until { $expires_at }.
event-device_accepted = Signed in on a remembered device.
event-devices_revoked = Forgot { $count } remembered device(s) ({ $reason }).
event-org_settings_changed = { $count ->
        [0] The MFA settings of { $org } were saved unchanged.
       *[other] Changed the MFA settings of { $org }: { $changes }.
    }
event-org_settings_change_refused = A change of the MFA settings of { $org } was refused ({ $reason }).
event-password_changed = The password was changed; other sessions were ended.
event-reset_refused = A reset was refused ({ $reason }).
event-host_action_allowed = Allowed "{ $action }" after a recent second-factor proof.
event-host_action_refused = Refused "{ $action }" ({ $refusal }).
event-sign_in_refused = A sign-in was refused ({ $reason }).
event-refusals_summarised = { $refused } more refused attempts since { $since }.
event-audit_pruned = { $deleted ->
        [one] Deleted { $deleted } audit event from before { $before }.
       *[other] Deleted { $deleted } audit events from before { $before }.
    }
event-future_dated_voided = Entries written by a clock that ran ahead were voided at { $reading }: { $voided }.

## Parts of audit messages.

# How a method reads inside an event's sentence (`$method`; `$method_start` is the
# same with a capital).
method-totp = an authenticator app code
method-sms = a code by SMS
method-email = a code by e-mail
method-recovery_code = a recovery code
method-security_key = a security key
# How a destination's role reads inside an event's sentence (`$role`).
role-primary = primary
role-backup = backup

# One changed setting of `event-org_settings_changed`'s `$changes`.
setting-change = { $setting } from { $from } to { $to }
# What stands between two changed settings.
setting-change-separator = { "; " }

# A whole audit line: when, whose account, who acted if someone else, from where.
event-line = { $at }, { $user }: { $what }
event-line-by = { $at }, { $user } (by { $actor }): { $what }
event-line-from = { $at }, { $user } from { $address }: { $what }
event-line-by-from = { $at }, { $user } (by { $actor }) from { $address }: { $what }
