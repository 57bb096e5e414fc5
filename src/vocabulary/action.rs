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
    /// Removing one authenticator: an app or a security key.
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

/// The name of a host's own sensitive action ("change_bank_details", "approve pay
/// run"), under which a step-up that allows it is audited: 1 to
/// [`HostAction::MAX_CHARS`] characters, no control or invisible formatting
/// characters, no spaces before or after. Checked once, at [`HostAction::new`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostAction(String);

/// A host action's name that cannot be used: empty, too long, with a control or
/// invisible formatting character, or with spaces around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a host action's name must be 1 to 64 printable characters without surrounding spaces")]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct InvalidHostAction;

impl HostAction {
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 64;

    /// The action named `name`.
    ///
    /// # Errors
    /// [`InvalidHostAction`] for an empty or blank name, one longer than
    /// [`HostAction::MAX_CHARS`] characters, one with spaces before or after it, or
    /// one with a control character or an invisible formatting character (a
    /// zero-width space, a bidirectional override) that would make the audit trail
    /// read otherwise than it is.
    pub fn new(name: &str) -> Result<HostAction, InvalidHostAction> {
        let fits = (1..=HostAction::MAX_CHARS).contains(&name.chars().count());
        let printable = !name.chars().any(|c| c.is_control() || invisible(c));
        let trimmed = name.trim() == name;
        if fits && printable && trimmed { Ok(HostAction(name.to_string())) } else { Err(InvalidHostAction) }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HostAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters that print as nothing or reorder the text around them: zero-width
/// spaces and joiners, bidirectional marks, overrides and isolates, word joiners and
/// the byte-order mark.
pub(crate) fn invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_action_is_named_in_1_to_64_printable_characters() {
        for good in ["change_bank_details", "Approve pay run", "ä", &"x".repeat(64)] {
            assert_eq!(HostAction::new(good).map(|a| a.to_string()), Ok(good.to_string()));
        }
        for bad in
            ["", " ", " padded", "padded ", "tab\there", "new\nline", "\u{202E}lanif", "zero\u{200B}width"]
        {
            assert_eq!(HostAction::new(bad), Err(InvalidHostAction), "{bad:?}");
        }
        assert_eq!(HostAction::new(&"x".repeat(65)), Err(InvalidHostAction));
    }
}
