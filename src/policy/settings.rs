//! What an organisation's admin configures, and the presets regulators set on top.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::network::IpNetwork;
use crate::vocabulary::LockoutRule;

/// How strongly MFA is asked of a type of user (seed 003).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(
    clippy::exhaustive_enums,
    reason = "a plain value the crate and hosts build and read whole; a new field is a deliberate breaking change"
)]
pub enum Level {
    /// Upon request: each user decides; nobody is prompted.
    #[default]
    UponRequest,
    /// Suggested: users without MFA are prompted at sign-in and may dismiss it.
    Suggested,
    /// Mandatory: users without MFA are blocked until they set it up (after the grace
    /// deadline, if there is one).
    Mandatory,
}

/// Where the organisation is and what its system is connected to: the facts the
/// Australian and New Zealand rule depends on (seeds 000, 001).
///
/// Built with [`Jurisdiction::country`], [`Jurisdiction::with_xero`] and
/// [`Jurisdiction::with_accounting`] (or `Jurisdiction::default()`: nowhere in
/// particular).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jurisdiction {
    /// ISO 3166-1 alpha-2 country code of the organisation (`AU`, `NZ`, ...).
    pub(crate) country: Option<String>,
    /// Whether the system is linked to Xero.
    pub(crate) xero_linked: bool,
    /// Whether accounting is configured in the system.
    pub(crate) accounting_configured: bool,
}

impl Jurisdiction {
    /// An organisation in `country` (ISO 3166-1 alpha-2).
    pub fn country(code: &str) -> Jurisdiction {
        Jurisdiction { country: Some(code.to_ascii_uppercase()), ..Jurisdiction::default() }
    }

    /// The organisation's country (ISO 3166-1 alpha-2, upper case), if known.
    pub fn country_code(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The same, linked to Xero.
    #[must_use]
    pub fn with_xero(mut self) -> Jurisdiction {
        self.xero_linked = true;
        self
    }

    /// The same, with accounting configured.
    #[must_use]
    pub fn with_accounting(mut self) -> Jurisdiction {
        self.accounting_configured = true;
        self
    }

    /// Whether the tax-data rule applies: in Australia or New Zealand, with Xero linked
    /// or accounting configured, users without MFA are prompted at every sign-in and
    /// MFA cannot be deactivated (R12).
    pub fn tax_data_rule_applies(&self) -> bool {
        let in_scope = self
            .country
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("AU") || c.eq_ignore_ascii_case("NZ"));
        in_scope && (self.xero_linked || self.accounting_configured)
    }
}

/// An organisation's MFA settings, as its admin configures them. The host stores them
/// (serde) and passes them in with each sign-in; a [`Preset`] may tighten them.
///
/// Valid by construction: settings are made by [`OrgSettings::default`] or by
/// [`OrgSettings::builder`], whose [`OrgSettingsBuilder::build`] checks them once, and
/// read from storage through the same check (a stored value out of range fails to
/// deserialise, naming the setting). Fields missing from stored settings, as in
/// settings written before they existed, take their defaults.
///
/// ```
/// use mfa_kit::LockoutRule;
/// use mfa_kit::policy::{Level, OrgSettings};
///
/// let settings = OrgSettings::builder()
///     .level("practitioner", Level::Mandatory)
///     .lockout(LockoutRule::new(5, 900))
///     .build()?;
/// assert_eq!(settings.lockout().max_failures, 5);
/// assert!(OrgSettings::builder().fresh_proof_window(5).build().is_err());
/// # Ok::<(), mfa_kit::policy::SettingsError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, remote = "Self")]
#[non_exhaustive]
pub struct OrgSettings {
    /// The level per user type (the host's own types, e.g. `practitioner`).
    pub(crate) levels: BTreeMap<String, Level>,
    /// The level of user types not listed in `levels`.
    pub(crate) default_level: Level,
    /// The org-wide switch: MFA mandatory for every user (seeds 001, 002).
    pub(crate) enforce_for_all: bool,
    /// Before this time a mandatory enrollment may still be dismissed (seed 004's
    /// "until 31 December"); after it, enrollment is required.
    pub(crate) grace_until: Option<u64>,
    /// Addresses allowed to sign in; empty allows any (seed 000).
    pub(crate) allowed_networks: Vec<IpNetwork>,
    /// Wrong codes before a lockout, and its length.
    pub(crate) lockout: LockoutRule,
    /// How long a started enrollment stays open, in seconds.
    pub(crate) enrollment_lifetime: u64,
    /// The longest a remembered device may skip the second factor, in seconds; 0
    /// turns remembered devices off.
    pub(crate) remember_device_max: u64,
    /// Whether principal users must also set up a backup method (seed 004).
    pub(crate) backup_required_for_principals: bool,
    /// What the principals' backup must be, and whether it blocks: a suggestion any
    /// backup meets (recovery codes included, the default), or a backup phone number
    /// or e-mail address required before going on (seed 004: "this step is required
    /// for principal users").
    pub(crate) principal_backup: BackupRule,
    /// Whether users may turn their own MFA off.
    pub(crate) allow_self_deactivation: bool,
    /// Whether codes sent by e-mail may be used as a factor.
    pub(crate) allow_email_codes: bool,
    /// Whether codes sent by SMS may be used as a factor.
    pub(crate) allow_sms_codes: bool,
    /// The longest TOTP period new authenticators may have, in seconds, if limited.
    pub(crate) max_totp_period: Option<u64>,
    /// How recently a second factor must have been proved before a sensitive action
    /// (step-up), in seconds: 30 to 3600, default 300.
    pub(crate) fresh_proof_window: u64,
    /// The longest a signed-in session lasts from the password, however active, in
    /// seconds: 5 minutes to 30 days, default 24 hours.
    pub(crate) session_lifetime: u64,
    /// The longest a signed-in session may go without a request, in seconds: 1 minute
    /// to the session lifetime, default 2 hours.
    pub(crate) session_idle_timeout: u64,
    /// The user types (the host's, as in [`OrgSettings::levels`]; `"*"` for every type)
    /// whose users, signing in through single sign-on, can neither be asked for nor
    /// set up MFA here: their SSO provider does it (seed 003). Users of other types
    /// signing in through SSO are not asked, but may set MFA up.
    pub(crate) sso_without_mfa: Vec<String>,
    /// Whether signing in with a recovery code ends the user's other sessions, as a
    /// change of how the account is protected does (someone may be recovering an
    /// account they lost to an attacker). Default `false`; the presets turn it on.
    pub(crate) recovery_code_ends_sessions: bool,
    /// Whether security keys and passkeys (WebAuthn) may be used as a factor (default
    /// `true`).
    pub(crate) allow_security_keys: bool,
    /// The user types (the host's; `"*"` for every type) who must prove with a
    /// phishing-resistant factor, a security key or passkey: once they have one, app,
    /// SMS and e-mail codes are refused for them at sign-in and step-up (recovery codes
    /// stay, the way back from a lost key), and until they have one the sign-in
    /// decision sends them to register one right after their proof. For example
    /// `["admin", "practitioner"]`.
    pub(crate) phishing_resistant_for: Vec<String>,
    /// Whether the sign-in decision offers every user without a security key to
    /// register one after the proof (NIST SP 800-63B-4 §2.2.2: a verifier at AAL2
    /// offers a phishing-resistant option). The NIST preset turns it on.
    pub(crate) offer_phishing_resistant: bool,
    /// The organisation's own compliance presets, applied on top of its settings and
    /// of the policy's presets (an Australian tax-data firm under
    /// [`Preset::AtoOperationalSecurity`], a US agency's contractor under
    /// [`Preset::NistAal2`]), so one service serves organisations under different
    /// rules. Empty by default.
    pub(crate) presets: Vec<Preset>,
}

/// Builds [`OrgSettings`], checking them once: start from the defaults
/// ([`OrgSettings::builder`]) or from settings in force ([`OrgSettings::to_builder`]),
/// set what the admin chose, then [`OrgSettingsBuilder::build`].
#[derive(Clone, Debug)]
#[must_use]
pub struct OrgSettingsBuilder {
    draft: OrgSettings,
}

impl OrgSettingsBuilder {
    /// The level per user type (the host's own types, e.g. `practitioner`).
    pub fn levels(mut self, levels: BTreeMap<String, Level>) -> OrgSettingsBuilder {
        self.draft.levels = levels;
        self
    }

    /// The level for one user type, beside the others in [`OrgSettingsBuilder::levels`].
    pub fn level(mut self, user_type: impl Into<String>, level: Level) -> OrgSettingsBuilder {
        self.draft.levels.insert(user_type.into(), level);
        self
    }

    /// The level of user types not listed in `levels`.
    pub fn default_level(mut self, value: Level) -> OrgSettingsBuilder {
        self.draft.default_level = value;
        self
    }

    /// The org-wide switch: MFA mandatory for every user (seeds 001, 002).
    pub fn enforce_for_all(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.enforce_for_all = value;
        self
    }

    /// Before this time a mandatory enrollment may still be dismissed (seed 004's
    /// "until 31 December"); after it, enrollment is required.
    pub fn grace_until(mut self, value: Option<u64>) -> OrgSettingsBuilder {
        self.draft.grace_until = value;
        self
    }

    /// Addresses allowed to sign in; empty allows any (seed 000).
    pub fn allowed_networks(mut self, value: Vec<IpNetwork>) -> OrgSettingsBuilder {
        self.draft.allowed_networks = value;
        self
    }

    /// Wrong codes before a lockout, and its length.
    pub fn lockout(mut self, value: LockoutRule) -> OrgSettingsBuilder {
        self.draft.lockout = value;
        self
    }

    /// How long a started enrollment stays open, in seconds.
    pub fn enrollment_lifetime(mut self, value: u64) -> OrgSettingsBuilder {
        self.draft.enrollment_lifetime = value;
        self
    }

    /// The longest a remembered device may skip the second factor, in seconds; 0
    /// turns remembered devices off.
    pub fn remember_device_max(mut self, value: u64) -> OrgSettingsBuilder {
        self.draft.remember_device_max = value;
        self
    }

    /// Whether principal users must also set up a backup method (seed 004).
    pub fn backup_required_for_principals(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.backup_required_for_principals = value;
        self
    }

    /// What the principals' backup must be, and whether it blocks: a suggestion any
    /// backup meets (recovery codes included, the default), or a backup phone number
    /// or e-mail address required before going on (seed 004: "this step is required
    /// for principal users").
    pub fn principal_backup(mut self, value: BackupRule) -> OrgSettingsBuilder {
        self.draft.principal_backup = value;
        self
    }

    /// Whether users may turn their own MFA off.
    pub fn allow_self_deactivation(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.allow_self_deactivation = value;
        self
    }

    /// Whether codes sent by e-mail may be used as a factor.
    pub fn allow_email_codes(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.allow_email_codes = value;
        self
    }

    /// Whether codes sent by SMS may be used as a factor.
    pub fn allow_sms_codes(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.allow_sms_codes = value;
        self
    }

    /// The longest TOTP period new authenticators may have, in seconds, if limited.
    pub fn max_totp_period(mut self, value: Option<u64>) -> OrgSettingsBuilder {
        self.draft.max_totp_period = value;
        self
    }

    /// How recently a second factor must have been proved before a sensitive action
    /// (step-up), in seconds: 30 to 3600, default 300.
    pub fn fresh_proof_window(mut self, value: u64) -> OrgSettingsBuilder {
        self.draft.fresh_proof_window = value;
        self
    }

    /// The longest a signed-in session lasts from the password, however active, in
    /// seconds: 5 minutes to 30 days, default 24 hours.
    pub fn session_lifetime(mut self, value: u64) -> OrgSettingsBuilder {
        self.draft.session_lifetime = value;
        self
    }

    /// The longest a signed-in session may go without a request, in seconds: 1 minute
    /// to the session lifetime, default 2 hours.
    pub fn session_idle_timeout(mut self, value: u64) -> OrgSettingsBuilder {
        self.draft.session_idle_timeout = value;
        self
    }

    /// The user types (the host's, as in [`OrgSettings::levels`]; `"*"` for every type)
    /// whose users, signing in through single sign-on, can neither be asked for nor
    /// set up MFA here: their SSO provider does it (seed 003). Users of other types
    /// signing in through SSO are not asked, but may set MFA up.
    pub fn sso_without_mfa(mut self, value: Vec<String>) -> OrgSettingsBuilder {
        self.draft.sso_without_mfa = value;
        self
    }

    /// Whether signing in with a recovery code ends the user's other sessions, as a
    /// change of how the account is protected does (someone may be recovering an
    /// account they lost to an attacker). Default `false`; the presets turn it on.
    pub fn recovery_code_ends_sessions(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.recovery_code_ends_sessions = value;
        self
    }

    /// Whether security keys and passkeys (WebAuthn) may be used as a factor (default
    /// `true`).
    pub fn allow_security_keys(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.allow_security_keys = value;
        self
    }

    /// The user types (the host's; `"*"` for every type) who must prove with a
    /// phishing-resistant factor, a security key or passkey: once they have one, app,
    /// SMS and e-mail codes are refused for them at sign-in and step-up (recovery codes
    /// stay, the way back from a lost key), and until they have one the sign-in
    /// decision sends them to register one right after their proof. For example
    /// `["admin", "practitioner"]`.
    pub fn phishing_resistant_for(mut self, value: Vec<String>) -> OrgSettingsBuilder {
        self.draft.phishing_resistant_for = value;
        self
    }

    /// Whether the sign-in decision offers every user without a security key to
    /// register one after the proof (NIST SP 800-63B-4 §2.2.2: a verifier at AAL2
    /// offers a phishing-resistant option). The NIST preset turns it on.
    pub fn offer_phishing_resistant(mut self, value: bool) -> OrgSettingsBuilder {
        self.draft.offer_phishing_resistant = value;
        self
    }

    /// The organisation's own compliance presets, applied on top of its settings and
    /// of the policy's presets (an Australian tax-data firm under
    /// [`Preset::AtoOperationalSecurity`], a US agency's contractor under
    /// [`Preset::NistAal2`]), so one service serves organisations under different
    /// rules. Empty by default.
    pub fn presets(mut self, value: Vec<Preset>) -> OrgSettingsBuilder {
        self.draft.presets = value;
        self
    }

    /// The settings, if they make sense.
    ///
    /// # Errors
    /// [`SettingsError`], saying which setting is out of range.
    pub fn build(self) -> Result<OrgSettings, SettingsError> {
        self.draft.validate().map_err(SettingsError)?;
        Ok(self.draft)
    }
}

/// Organisation settings that do not make sense: the sentence says which setting is out
/// of range and what it may be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
#[non_exhaustive]
pub struct SettingsError(String);

impl SettingsError {
    /// The sentence naming the setting.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a host's settings form answers when the admin's choice does not build.
impl From<SettingsError> for crate::vocabulary::Refusal {
    fn from(error: SettingsError) -> crate::vocabulary::Refusal {
        crate::vocabulary::Refusal::InvalidSettings(error.0)
    }
}

impl Serialize for OrgSettings {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        OrgSettings::serialize(self, serializer)
    }
}

/// Through the same check as [`OrgSettingsBuilder::build`].
impl<'de> Deserialize<'de> for OrgSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<OrgSettings, D::Error> {
        let settings = OrgSettings::deserialize(deserializer)?;
        settings.validate().map_err(serde::de::Error::custom)?;
        Ok(settings)
    }
}

impl OrgSettings {
    /// A builder from the defaults.
    pub fn builder() -> OrgSettingsBuilder {
        OrgSettingsBuilder { draft: OrgSettings::default() }
    }

    /// A builder from these settings, to change some of them.
    pub fn to_builder(&self) -> OrgSettingsBuilder {
        OrgSettingsBuilder { draft: self.clone() }
    }

    /// The level per user type, as set by [`OrgSettingsBuilder::levels`] and
    /// [`OrgSettingsBuilder::level`].
    pub fn levels(&self) -> &BTreeMap<String, Level> {
        &self.levels
    }

    /// As set by [`OrgSettingsBuilder::default_level`].
    pub fn default_level(&self) -> Level {
        self.default_level
    }

    /// As set by [`OrgSettingsBuilder::enforce_for_all`].
    pub fn enforce_for_all(&self) -> bool {
        self.enforce_for_all
    }

    /// As set by [`OrgSettingsBuilder::allowed_networks`].
    pub fn allowed_networks(&self) -> &[IpNetwork] {
        &self.allowed_networks
    }

    /// As set by [`OrgSettingsBuilder::lockout`].
    pub fn lockout(&self) -> LockoutRule {
        self.lockout
    }

    /// As set by [`OrgSettingsBuilder::enrollment_lifetime`].
    pub fn enrollment_lifetime(&self) -> u64 {
        self.enrollment_lifetime
    }

    /// As set by [`OrgSettingsBuilder::remember_device_max`].
    pub fn remember_device_max(&self) -> u64 {
        self.remember_device_max
    }

    /// As set by [`OrgSettingsBuilder::backup_required_for_principals`].
    pub fn backup_required_for_principals(&self) -> bool {
        self.backup_required_for_principals
    }

    /// As set by [`OrgSettingsBuilder::allow_self_deactivation`].
    pub fn allow_self_deactivation(&self) -> bool {
        self.allow_self_deactivation
    }

    /// As set by [`OrgSettingsBuilder::allow_email_codes`].
    pub fn allow_email_codes(&self) -> bool {
        self.allow_email_codes
    }

    /// As set by [`OrgSettingsBuilder::fresh_proof_window`].
    pub fn fresh_proof_window(&self) -> u64 {
        self.fresh_proof_window
    }

    /// As set by [`OrgSettingsBuilder::session_lifetime`].
    pub fn session_lifetime(&self) -> u64 {
        self.session_lifetime
    }

    /// As set by [`OrgSettingsBuilder::session_idle_timeout`].
    pub fn session_idle_timeout(&self) -> u64 {
        self.session_idle_timeout
    }

    /// As set by [`OrgSettingsBuilder::recovery_code_ends_sessions`].
    pub fn recovery_code_ends_sessions(&self) -> bool {
        self.recovery_code_ends_sessions
    }

    /// As set by [`OrgSettingsBuilder::offer_phishing_resistant`].
    pub fn offer_phishing_resistant(&self) -> bool {
        self.offer_phishing_resistant
    }
}

impl OrgSettings {
    /// Thirty days: what "don't ask again on this device for 30 days" offers (seed 004).
    pub const DEFAULT_REMEMBER_DEVICE_MAX: u64 = 30 * 24 * 3600;
    /// The most consecutive failures NIST SP 800-63B allows before a lockout.
    pub const MAX_FAILURES_LIMIT: u32 = 100;
    /// The most failures without a success before the second factor is disabled.
    pub const MAX_HARD_LIMIT: u32 = 10_000;

    /// The level for a user type.
    pub fn level_for(&self, user_type: Option<&str>) -> Level {
        if self.enforce_for_all {
            return Level::Mandatory;
        }
        user_type.and_then(|t| self.levels.get(t)).copied().unwrap_or(self.default_level)
    }

    /// The same settings with a level for a user type.
    #[must_use]
    pub fn with_level(mut self, user_type: impl Into<String>, level: Level) -> OrgSettings {
        self.levels.insert(user_type.into(), level);
        self
    }

    /// Whether `method` may be used under these settings.
    pub fn allows(&self, method: crate::vocabulary::Method) -> bool {
        match method {
            crate::vocabulary::Method::Email => self.allow_email_codes,
            crate::vocabulary::Method::Sms => self.allow_sms_codes,
            crate::vocabulary::Method::SecurityKey => self.allow_security_keys,
            _ => true,
        }
    }

    /// Checks the settings make sense: a sentence saying which setting is out of range
    /// if not. Run once, when they are built or read.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let lockout = self.lockout;
        if lockout.max_failures == 0 || lockout.max_failures > OrgSettings::MAX_FAILURES_LIMIT {
            return Err(format!(
                "the lockout must start after 1 to {} failures (NIST SP 800-63B), not {}",
                OrgSettings::MAX_FAILURES_LIMIT,
                lockout.max_failures
            ));
        }
        if lockout.lock_seconds == 0 {
            return Err("a lockout must last at least 1 second".into());
        }
        if lockout.hard_limit < lockout.max_failures || lockout.hard_limit > OrgSettings::MAX_HARD_LIMIT {
            return Err(format!(
                "the second factor must be disabled after {} to {} failures without a success, not {}",
                lockout.max_failures,
                OrgSettings::MAX_HARD_LIMIT,
                lockout.hard_limit
            ));
        }
        if self.max_totp_period == Some(0) {
            return Err("the longest TOTP period must be at least 1 second".into());
        }
        if !(60..=7 * 24 * 3600).contains(&self.enrollment_lifetime) {
            return Err("an enrollment must stay open between 1 minute and 7 days".into());
        }
        if !(30..=3600).contains(&self.fresh_proof_window) {
            return Err(format!(
                "a proof must count as fresh for 30 seconds to 1 hour before a sensitive action, not {} seconds",
                self.fresh_proof_window
            ));
        }
        if !(300..=30 * 24 * 3600).contains(&self.session_lifetime) {
            return Err(format!(
                "a session must last between 5 minutes and 30 days, not {} seconds",
                self.session_lifetime
            ));
        }
        if self.session_idle_timeout < 60 || self.session_idle_timeout > self.session_lifetime {
            return Err(format!(
                "the inactivity limit must be between 1 minute and the session lifetime, not {} seconds",
                self.session_idle_timeout
            ));
        }
        if self.remember_device_max > 400 * 24 * 3600 {
            return Err(
                "a device may be remembered for at most 400 days (the longest a browser keeps a cookie)"
                    .into(),
            );
        }
        Ok(())
    }
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            levels: BTreeMap::new(),
            default_level: Level::UponRequest,
            enforce_for_all: false,
            grace_until: None,
            allowed_networks: Vec::new(),
            lockout: LockoutRule::DEFAULT,
            enrollment_lifetime: super::DEFAULT_ENROLLMENT_LIFETIME,
            remember_device_max: OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX,
            backup_required_for_principals: true,
            principal_backup: BackupRule::Advisory,
            allow_self_deactivation: true,
            allow_email_codes: true,
            allow_sms_codes: true,
            max_totp_period: None,
            fresh_proof_window: super::DEFAULT_FRESH_PROOF_WINDOW,
            session_lifetime: super::SessionLimits::DEFAULT.lifetime,
            session_idle_timeout: super::SessionLimits::DEFAULT.idle_timeout,
            recovery_code_ends_sessions: false,
            sso_without_mfa: Vec::new(),
            allow_security_keys: true,
            phishing_resistant_for: Vec::new(),
            offer_phishing_resistant: false,
            presets: Vec::new(),
        }
    }
}

/// What a required backup method must be, and whether the user may go on without it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum BackupRule {
    /// Suggest a backup after the sign-in; any backup counts (a backup phone or
    /// e-mail address, or unused recovery codes).
    #[default]
    Advisory,
    /// Require a backup phone number or e-mail address before going on: recovery
    /// codes alone do not count (seed 004).
    RequireDestination,
}

/// A compliance preset: rules a regulator or standard sets, applied on top of what an
/// organisation configured. A preset only ever tightens a setting, never loosens it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Preset {
    /// Products that connect to the Australian Taxation Office, under its Operational
    /// Security Framework for digital service providers: MFA mandatory for every user
    /// but those signing in through SSO, a lockout after at most 5 failed attempts,
    /// remembered devices capped below 24 hours ([`Preset::REMEMBER_CAP`]), no
    /// self-deactivation, and a second factor proved within the last 5 minutes before
    /// a sensitive action. The framework sets no session figures of its own; this
    /// preset's choice is the stricter of NIST's AAL2 limits and its own device cap:
    /// sessions end after 12 hours (the remembered-device cap, so no sign-in outlives
    /// it) or 1 hour of inactivity, and signing in with a recovery code ends the
    /// user's other sessions.
    ///
    /// On phishing resistance the framework is silent, so the preset claims nothing:
    /// security keys and passkeys stay allowed as they were configured. An
    /// organisation that follows Australia's Essential Eight at maturity level 2 or
    /// above (phishing-resistant MFA for online services) lists its user types in
    /// [`OrgSettingsBuilder::phishing_resistant_for`].
    AtoOperationalSecurity,
    /// NIST SP 800-63B-4 at authenticator assurance level 2.
    ///
    /// What the preset enforces:
    /// - at most 100 consecutive failures, the hard limit after which the factor is
    ///   disabled (§3.2.2, rate limiting);
    /// - no codes by e-mail as a factor (§3.1.3): not offered, not counted by step-up,
    ///   and a user whose only factor is an e-mail address has no MFA;
    /// - TOTP periods of at most 2 minutes for new authenticators (§3.1.4.1);
    /// - reauthentication at least every 24 hours and after at most 1 hour of
    ///   inactivity (§2.2.3), as session limits;
    /// - remembered devices capped at 12 hours; step-up within 15 minutes;
    /// - recovery codes of at least 64 bits (§4.2; 74.3 bits always), a prompt to
    ///   replace a set after a code is used, and a recovery code ending the user's
    ///   other sessions;
    /// - OTPs single-use (always enforced), and SMS listed as restricted in the
    ///   decision (§3.2.9; always).
    ///
    /// - a phishing-resistant option offered (§2.2.2): security keys and passkeys stay
    ///   allowed, the decision lists a user's key first and offers every user without
    ///   one to register one after the proof (`offer_phishing_resistant`).
    ///
    /// What it leaves to the host: configuring the relying party
    /// (`mfa-kit-webauthn`) so the offer can be taken up, the password (memorized secret) rules, giving
    /// the SMS risk notice the decision asks for, sending the notices of §4.6 the
    /// events classify ([`crate::event::SecurityNotice`]), identity proofing, and
    /// keeping the audit trail.
    ///
    /// In detail: at most 100 consecutive
    /// failures (the hard limit, after which the factor is disabled); reauthentication
    /// at least every 24 hours and after at most 1 hour of inactivity (§2.2.3), so
    /// sessions are capped at those; remembered devices capped at 12 hours (stricter
    /// than the 24-hour interval, kept from revision 3); TOTP periods of at most 2
    /// minutes for new authenticators; no codes by e-mail as a factor; a second factor
    /// proved within the last 15 minutes before a sensitive action; and signing in
    /// with a recovery code ends the user's other sessions. OTPs are single-use, which
    /// mfa-kit always enforces.
    NistAal2,
}

impl Preset {
    /// Twelve months, counted generously (366 days): how long the ATO's framework has
    /// providers keep audit logs.
    pub const TWELVE_MONTHS: u64 = 366 * 86_400;

    /// The preset's name for people: `ATO Operational Security Framework`,
    /// `NIST SP 800-63B-4 AAL2` (the stable id is [`Preset::as_str`]).
    pub fn title(self) -> &'static str {
        match self {
            Preset::AtoOperationalSecurity => "ATO Operational Security Framework",
            Preset::NistAal2 => "NIST SP 800-63B-4 AAL2",
        }
    }

    /// How long the audit trail must be kept under this preset, in seconds: 12 months
    /// ([`Preset::TWELVE_MONTHS`]) under the ATO's framework; NIST SP 800-63B sets no
    /// retention of its own (0). [`crate::service::MfaService::prune_audit`] refuses to
    /// delete events younger than this.
    pub fn audit_retention(self) -> u64 {
        match self {
            Preset::AtoOperationalSecurity => Preset::TWELVE_MONTHS,
            Preset::NistAal2 => 0,
        }
    }

    /// The cap on remembered devices both presets apply: 12 hours, below the ATO's
    /// 24-hour limit and equal to NIST AAL2's reauthentication interval.
    pub const REMEMBER_CAP: u64 = 12 * 3600;

    /// The longest a proof counts as fresh before a sensitive action under this
    /// preset: 5 minutes (ATO), 15 minutes (NIST AAL2).
    pub fn fresh_proof_cap(self) -> u64 {
        match self {
            Preset::AtoOperationalSecurity => 300,
            Preset::NistAal2 => 900,
        }
    }

    /// The longest a session lasts under this preset, overall and without activity:
    /// 12 hours and 1 hour (ATO), 24 hours and 1 hour (NIST AAL2, §2.2.3).
    pub fn session_cap(self) -> super::SessionLimits {
        match self {
            Preset::AtoOperationalSecurity => super::SessionLimits::new(12 * 3600, 3600),
            Preset::NistAal2 => super::SessionLimits::new(24 * 3600, 3600),
        }
    }

    /// The settings, tightened by this preset. Every setting ends up at least as
    /// strict as it was.
    pub fn tighten(self, settings: &OrgSettings) -> OrgSettings {
        let mut tight = settings.clone();
        let max_failures = match self {
            Preset::AtoOperationalSecurity => 5,
            Preset::NistAal2 => OrgSettings::MAX_FAILURES_LIMIT,
        };
        tight.lockout.max_failures = tight.lockout.max_failures.min(max_failures);
        tight.remember_device_max = tight.remember_device_max.min(Preset::REMEMBER_CAP);
        tight.fresh_proof_window = tight.fresh_proof_window.min(self.fresh_proof_cap());
        let cap = self.session_cap();
        tight.session_lifetime = tight.session_lifetime.min(cap.lifetime);
        tight.session_idle_timeout =
            tight.session_idle_timeout.min(cap.idle_timeout).min(tight.session_lifetime);
        tight.recovery_code_ends_sessions = true;
        match self {
            Preset::AtoOperationalSecurity => {
                tight.enforce_for_all = true;
                tight.allow_self_deactivation = false;
            }
            Preset::NistAal2 => {
                // §3.2.2: at most 100 consecutive failures; §3.1.4.1 OTPs from a device
                // with a period of at most 2 minutes; e-mail is not an AAL2 channel.
                tight.lockout.hard_limit = tight.lockout.hard_limit.min(OrgSettings::MAX_FAILURES_LIMIT);
                tight.max_totp_period = Some(tight.max_totp_period.map_or(120, |p| p.min(120)));
                tight.allow_email_codes = false;
                // §2.2.2: a phishing-resistant option is offered at AAL2.
                tight.allow_security_keys = true;
                tight.offer_phishing_resistant = true;
            }
        }
        tight.lockout.hard_limit = tight.lockout.hard_limit.max(tight.lockout.max_failures);
        tight
    }
}

/// One setting that differs between two [`OrgSettings`], for an admin's log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingChange {
    /// The setting's field name (`lockout.max_failures`, `enforce_for_all`).
    pub setting: &'static str,
    /// Its value before, as text.
    pub from: String,
    /// Its value after, as text.
    pub to: String,
}

impl OrgSettings {
    /// The settings that differ from `self` in `new`, in field order: what a settings
    /// change did, for an admin's log.
    pub fn changes_to(&self, new: &OrgSettings) -> Vec<SettingChange> {
        fn when(time: Option<u64>) -> String {
            time.map_or_else(|| "none".into(), crate::vocabulary::utc::utc_minute)
        }
        fn levels(levels: &BTreeMap<String, Level>) -> String {
            let parts: Vec<String> = levels.iter().map(|(kind, level)| format!("{kind}: {level}")).collect();
            if parts.is_empty() { "none".into() } else { parts.join(", ") }
        }
        fn list<T: core::fmt::Display>(items: &[T]) -> String {
            let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
            if parts.is_empty() { "none".into() } else { parts.join(", ") }
        }
        fn seconds(value: Option<u64>) -> String {
            value.map_or_else(|| "none".into(), |s| format!("{s} s"))
        }
        // Every field, named: a setting added later fails to compile here until listed.
        let OrgSettings {
            levels: _,
            default_level: _,
            enforce_for_all: _,
            grace_until: _,
            allowed_networks: _,
            lockout: _,
            enrollment_lifetime: _,
            remember_device_max: _,
            backup_required_for_principals: _,
            principal_backup: _,
            allow_self_deactivation: _,
            allow_email_codes: _,
            allow_sms_codes: _,
            max_totp_period: _,
            fresh_proof_window: _,
            session_lifetime: _,
            session_idle_timeout: _,
            sso_without_mfa: _,
            recovery_code_ends_sessions: _,
            allow_security_keys: _,
            phishing_resistant_for: _,
            offer_phishing_resistant: _,
            presets: _,
        } = self;
        let (a, b) = (self, new);
        let all: [(&'static str, String, String); 26] = [
            ("levels", levels(&a.levels), levels(&b.levels)),
            ("default_level", a.default_level.to_string(), b.default_level.to_string()),
            ("enforce_for_all", a.enforce_for_all.to_string(), b.enforce_for_all.to_string()),
            ("grace_until", when(a.grace_until), when(b.grace_until)),
            ("allowed_networks", list(&a.allowed_networks), list(&b.allowed_networks)),
            ("lockout.max_failures", a.lockout.max_failures.to_string(), b.lockout.max_failures.to_string()),
            (
                "lockout.lock_seconds",
                seconds(Some(a.lockout.lock_seconds)),
                seconds(Some(b.lockout.lock_seconds)),
            ),
            (
                "lockout.max_lock_seconds",
                seconds(Some(a.lockout.max_lock_seconds)),
                seconds(Some(b.lockout.max_lock_seconds)),
            ),
            ("lockout.hard_limit", a.lockout.hard_limit.to_string(), b.lockout.hard_limit.to_string()),
            (
                "enrollment_lifetime",
                seconds(Some(a.enrollment_lifetime)),
                seconds(Some(b.enrollment_lifetime)),
            ),
            (
                "remember_device_max",
                seconds(Some(a.remember_device_max)),
                seconds(Some(b.remember_device_max)),
            ),
            (
                "backup_required_for_principals",
                a.backup_required_for_principals.to_string(),
                b.backup_required_for_principals.to_string(),
            ),
            ("principal_backup", a.principal_backup.to_string(), b.principal_backup.to_string()),
            (
                "allow_self_deactivation",
                a.allow_self_deactivation.to_string(),
                b.allow_self_deactivation.to_string(),
            ),
            ("allow_email_codes", a.allow_email_codes.to_string(), b.allow_email_codes.to_string()),
            ("allow_sms_codes", a.allow_sms_codes.to_string(), b.allow_sms_codes.to_string()),
            ("max_totp_period", seconds(a.max_totp_period), seconds(b.max_totp_period)),
            ("fresh_proof_window", seconds(Some(a.fresh_proof_window)), seconds(Some(b.fresh_proof_window))),
            ("session_lifetime", seconds(Some(a.session_lifetime)), seconds(Some(b.session_lifetime))),
            (
                "session_idle_timeout",
                seconds(Some(a.session_idle_timeout)),
                seconds(Some(b.session_idle_timeout)),
            ),
            ("sso_without_mfa", list(&a.sso_without_mfa), list(&b.sso_without_mfa)),
            (
                "recovery_code_ends_sessions",
                a.recovery_code_ends_sessions.to_string(),
                b.recovery_code_ends_sessions.to_string(),
            ),
            ("allow_security_keys", a.allow_security_keys.to_string(), b.allow_security_keys.to_string()),
            ("phishing_resistant_for", list(&a.phishing_resistant_for), list(&b.phishing_resistant_for)),
            (
                "offer_phishing_resistant",
                a.offer_phishing_resistant.to_string(),
                b.offer_phishing_resistant.to_string(),
            ),
            ("presets", list(&a.presets), list(&b.presets)),
        ];
        all.into_iter()
            .filter(|(_, from, to)| from != to)
            .map(|(setting, from, to)| SettingChange { setting, from, to })
            .collect()
    }
}

crate::vocabulary::stable_ids!("level", Level {
    UponRequest => "upon_request",
    Suggested => "suggested",
    Mandatory => "mandatory",
});

crate::vocabulary::stable_ids!("backup rule", BackupRule {
    Advisory => "advisory",
    RequireDestination => "require_destination",
});

crate::vocabulary::stable_ids!("preset", Preset {
    AtoOperationalSecurity => "ato_operational_security",
    NistAal2 => "nist_aal2",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tax_data_rule_needs_au_or_nz_and_a_connection() {
        assert!(Jurisdiction::country("AU").with_xero().tax_data_rule_applies());
        assert!(Jurisdiction::country("nz").with_accounting().tax_data_rule_applies());
        assert!(!Jurisdiction::country("AU").tax_data_rule_applies());
        assert!(!Jurisdiction::country("GB").with_xero().tax_data_rule_applies());
        assert!(!Jurisdiction::default().tax_data_rule_applies());
    }

    #[test]
    fn levels_per_user_type_and_the_org_switch() {
        let settings = OrgSettings::default().with_level("practitioner", Level::Mandatory);
        assert_eq!(settings.level_for(Some("practitioner")), Level::Mandatory);
        assert_eq!(settings.level_for(Some("client")), Level::UponRequest);
        assert_eq!(settings.level_for(None), Level::UponRequest);
        let enforced = OrgSettings { enforce_for_all: true, ..settings };
        assert_eq!(enforced.level_for(Some("client")), Level::Mandatory);
    }

    #[test]
    fn validation_names_the_bad_setting() {
        assert_eq!(OrgSettings::default().validate(), Ok(()));
        let too_many = OrgSettings {
            lockout: LockoutRule { max_failures: 101, lock_seconds: 60, ..LockoutRule::DEFAULT },
            ..OrgSettings::default()
        };
        assert!(too_many.validate().unwrap_err().contains("1 to 100 failures"));
        let zero = OrgSettings {
            lockout: LockoutRule { max_failures: 0, lock_seconds: 60, ..LockoutRule::DEFAULT },
            ..OrgSettings::default()
        };
        assert!(zero.validate().is_err());
        let short = OrgSettings { enrollment_lifetime: 5, ..OrgSettings::default() };
        assert!(short.validate().unwrap_err().contains("enrollment"));
    }

    #[test]
    fn settings_deserialise_with_defaults_for_missing_fields() {
        let settings: OrgSettings = serde_json::from_str(
            r#"{"levels":{"practitioner":"mandatory"},"allowed_networks":["203.0.113.0/24"]}"#,
        )
        .unwrap();
        assert_eq!(settings.level_for(Some("practitioner")), Level::Mandatory);
        assert_eq!(settings.lockout, LockoutRule::DEFAULT);
        assert_eq!(settings.allowed_networks.len(), 1);
    }
}
