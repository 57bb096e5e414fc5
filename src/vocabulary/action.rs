//! Sensitive actions: the changes that need a fresh second-factor proof (step-up).

use serde::{Deserialize, Serialize};

/// An action that needs the user (or, for an admin's action, the actor) to have
/// proved a second factor within the last few minutes, so that a session left open
/// or stolen cannot change how the account is protected.
///
/// The crate asks for the proof itself before each of its own sensitive changes; a
/// host asks before its own (changing bank details, approving a pay run) with
/// [`SensitiveAction::Host`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SensitiveAction {
    /// Setting up an authenticator app in place of the ones the user has.
    ReplaceAuthenticator,
    /// Adding an authenticator app beside the ones the user has.
    AddAuthenticator,
    /// Removing one authenticator app.
    RemoveAuthenticator,
    /// Adding or changing an SMS or e-mail destination.
    AddDestination,
    /// Removing an SMS or e-mail destination.
    RemoveDestination,
    /// Generating a new set of recovery codes.
    RegenerateRecoveryCodes,
    /// Remembering this device, so that it skips the second factor.
    RememberDevice,
    /// An admin resets another user's MFA (the actor proves).
    ResetUser,
    /// An admin changes the organisation's MFA settings (the actor proves).
    ChangeOrgSettings,
    /// An action of the host's own, such as changing bank details.
    Host,
}

impl SensitiveAction {
    /// Whether the action adds a factor: a user with no MFA yet may do it without a
    /// proof (there is nothing to prove with: it is the first set-up).
    pub fn adds_a_factor(self) -> bool {
        matches!(
            self,
            SensitiveAction::ReplaceAuthenticator
                | SensitiveAction::AddAuthenticator
                | SensitiveAction::AddDestination
        )
    }
}

super::stable_ids!("sensitive action", SensitiveAction {
    ReplaceAuthenticator => "replace_authenticator",
    AddAuthenticator => "add_authenticator",
    RemoveAuthenticator => "remove_authenticator",
    AddDestination => "add_destination",
    RemoveDestination => "remove_destination",
    RegenerateRecoveryCodes => "regenerate_recovery_codes",
    RememberDevice => "remember_device",
    ResetUser => "reset_user",
    ChangeOrgSettings => "change_org_settings",
    Host => "host",
});
