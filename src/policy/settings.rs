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
    /// ISO 3166-1 alpha-2 country code of the organisation (`AU`, `NZ`, ...), upper
    /// case however it was written or stored.
    #[serde(default, deserialize_with = "upper_case_country")]
    pub(crate) country: Option<String>,
    /// Whether the system is linked to Xero (`false` when not stored).
    #[serde(default)]
    pub(crate) xero_linked: bool,
    /// Whether accounting is configured in the system (`false` when not stored).
    #[serde(default)]
    pub(crate) accounting_configured: bool,
}

/// A stored country code, upper case as [`Jurisdiction::country`] writes it.
fn upper_case_country<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let stored: Option<String> = Deserialize::deserialize(deserializer)?;
    Ok(stored.map(|code| code.to_ascii_uppercase()))
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

/// Declares every organisation setting once: its field (in stored order), its default,
/// the builder's setter (with the setting's description), the getter, and how an
/// admin's log shows it ([`OrgSettings::changes_to`]). A setting added here is stored,
/// defaulted, set, read and logged: none of those can be forgotten.
///
/// Each setting reads `name: Type = default, read by copy|borrow as Returned, logged
/// as row_function;`.
macro_rules! org_settings {
    (
        $(#[$outer:meta])*
        pub struct OrgSettings {
            $(
                $(#[doc = $doc:literal])*
                $name:ident: $ty:ty = $default:expr, read by $read:ident as $out:ty, logged as $log:ident;
            )*
        }
    ) => {
        $(#[$outer])*
        pub struct OrgSettings {
            $( $(#[doc = $doc])* pub(crate) $name: $ty, )*
        }

        impl Default for OrgSettings {
            fn default() -> Self {
                OrgSettings { $( $name: $default, )* }
            }
        }

        impl OrgSettingsBuilder {
            $(
                $(#[doc = $doc])*
                pub fn $name(mut self, value: $ty) -> OrgSettingsBuilder {
                    self.draft.$name = value;
                    self
                }
            )*
        }

        impl OrgSettings {
            $(
                #[doc = concat!("As set by [`OrgSettingsBuilder::", stringify!($name), "`].")]
                pub fn $name(&self) -> $out {
                    org_settings!(@read $read self.$name)
                }
            )*

            /// Every setting as `(name, value as text)` rows, in field order.
            fn log_rows(&self) -> Vec<(&'static str, String)> {
                let mut rows = Vec::new();
                $( log::$log(stringify!($name), &self.$name, &mut rows); )*
                rows
            }
        }
    };
    (@read copy $value:expr) => { $value };
    (@read borrow $value:expr) => { &$value };
}

org_settings! {
    /// An organisation's MFA settings, as its admin configures them. The host stores them
    /// (serde) and passes them in with each sign-in; a [`Preset`] may tighten them.
    ///
    /// Valid by construction: settings are made by [`OrgSettings::default`] or by
    /// [`OrgSettings::builder`], whose [`OrgSettingsBuilder::build`] checks them once, and
    /// read from storage through the same check (a stored value out of range fails to
    /// deserialise, naming the setting; a value of the wrong type, such as `-1` for a
    /// number of seconds or an unknown preset, fails as serde reports it, with the
    /// value and its place in the text). Fields missing from stored settings, as in
    /// settings written before they existed, take their defaults. Every setting has a
    /// setter on [`OrgSettingsBuilder`] and a getter here of the same name.
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
        levels: BTreeMap<String, Level> = BTreeMap::new(),
            read by borrow as &BTreeMap<String, Level>, logged as levels;
        /// The level of user types not listed in `levels`.
        default_level: Level = Level::UponRequest, read by copy as Level, logged as text;
        /// The org-wide switch: MFA mandatory for every user (seeds 001, 002).
        enforce_for_all: bool = false, read by copy as bool, logged as text;
        /// Before this time a mandatory enrollment may still be dismissed (seed 004's
        /// "until 31 December"); after it, enrollment is required.
        grace_until: Option<u64> = None, read by copy as Option<u64>, logged as time;
        /// Addresses allowed to sign in; empty allows any (seed 000).
        allowed_networks: Vec<IpNetwork> = Vec::new(), read by borrow as &[IpNetwork], logged as list;
        /// Wrong codes before a lockout, and its length.
        lockout: LockoutRule = LockoutRule::DEFAULT, read by copy as LockoutRule, logged as lockout;
        /// How long a started enrollment stays open, in seconds.
        enrollment_lifetime: u64 = super::DEFAULT_ENROLLMENT_LIFETIME,
            read by copy as u64, logged as seconds;
        /// The longest a remembered device may skip the second factor, in seconds; 0
        /// turns remembered devices off.
        remember_device_max: u64 = OrgSettings::DEFAULT_REMEMBER_DEVICE_MAX,
            read by copy as u64, logged as seconds;
        /// Whether principal users must also set up a backup method (seed 004).
        backup_required_for_principals: bool = true, read by copy as bool, logged as text;
        /// What the principals' backup must be, and whether it blocks: a suggestion any
        /// backup meets (recovery codes included, the default), or a backup phone number
        /// or e-mail address required before going on (seed 004: "this step is required
        /// for principal users").
        principal_backup: BackupRule = BackupRule::Advisory, read by copy as BackupRule, logged as text;
        /// Whether users may turn their own MFA off. An admin may still turn a user's
        /// MFA off where the user's level allows it ([`crate::ResetMode::TurnOff`], R21).
        allow_self_deactivation: bool = true, read by copy as bool, logged as text;
        /// Whether codes sent by e-mail may be used as a factor.
        allow_email_codes: bool = true, read by copy as bool, logged as text;
        /// Whether codes sent by SMS may be used as a factor.
        allow_sms_codes: bool = true, read by copy as bool, logged as text;
        /// The longest TOTP period new authenticators may have, in seconds, if limited.
        max_totp_period: Option<u64> = None, read by copy as Option<u64>, logged as optional_seconds;
        /// How recently a second factor must have been proved before a sensitive action
        /// (step-up), in seconds: 30 to 3600, default 300.
        fresh_proof_window: u64 = super::DEFAULT_FRESH_PROOF_WINDOW, read by copy as u64, logged as seconds;
        /// The longest a signed-in session lasts from the password, however active, in
        /// seconds: 5 minutes to 30 days, default 24 hours.
        session_lifetime: u64 = super::SessionLimits::DEFAULT.lifetime, read by copy as u64, logged as seconds;
        /// The longest a signed-in session may go without a request, in seconds: 1 minute
        /// to the session lifetime, default 2 hours (or the session lifetime, if that is
        /// shorter). The settings keep one number: 2 hours beside a shorter lifetime is
        /// taken as the default and becomes the lifetime when built or read, and stays
        /// so when the lifetime grows later (set the limit again then).
        session_idle_timeout: u64 = super::SessionLimits::DEFAULT.idle_timeout,
            read by copy as u64, logged as seconds;
        /// The user types (the host's, as in [`OrgSettings::levels`]; `"*"` for every type)
        /// whose users, signing in through single sign-on, can neither be asked for nor
        /// set up MFA here: their SSO provider does it (seed 003). Users of other types
        /// signing in through SSO are not asked, but may set MFA up.
        sso_without_mfa: Vec<String> = Vec::new(), read by borrow as &[String], logged as names;
        /// Whether signing in with a recovery code ends the user's other sessions, as a
        /// change of how the account is protected does (someone may be recovering an
        /// account they lost to an attacker). Default `false`; the presets turn it on.
        recovery_code_ends_sessions: bool = false, read by copy as bool, logged as text;
        /// Whether security keys and passkeys (WebAuthn) may be used as a factor (default
        /// `true`). Settings that turn them off while listing types in
        /// [`OrgSettingsBuilder::phishing_resistant_for`] do not build.
        allow_security_keys: bool = true, read by copy as bool, logged as text;
        /// The user types (the host's; `"*"` for every type) who must prove with a
        /// phishing-resistant factor, a security key or passkey: once they have one, app,
        /// SMS and e-mail codes are refused for them at sign-in and step-up (recovery codes
        /// stay, the way back from a lost key), a remembered device no longer skips the
        /// proof (its cookie is no phishing-resistant factor), and until they have one the sign-in
        /// decision sends them to register one right after their proof. MFA is mandatory
        /// for them whatever their level (a user with no factor sets one up at the next
        /// sign-in, and may not turn MFA off). For example `["admin", "practitioner"]`.
        phishing_resistant_for: Vec<String> = Vec::new(), read by borrow as &[String], logged as names;
        /// Whether the sign-in decision offers every user without a security key to
        /// register one after the proof (NIST SP 800-63B-4 §2.2.2: a verifier at AAL2
        /// offers a phishing-resistant option). The NIST preset turns it on.
        offer_phishing_resistant: bool = false, read by copy as bool, logged as text;
        /// The organisation's own compliance presets, applied on top of its settings and
        /// of the policy's presets (an Australian tax-data firm under
        /// [`Preset::AtoOperationalSecurity`], a US agency's contractor under
        /// [`Preset::NistAal2`]), so one service serves organisations under different
        /// rules. Empty by default.
        presets: Vec<Preset> = Vec::new(), read by borrow as &[Preset], logged as list;
    }
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
    /// The level for one user type, beside the others in [`OrgSettingsBuilder::levels`].
    pub fn level(mut self, user_type: impl Into<String>, level: Level) -> OrgSettingsBuilder {
        self.draft.levels.insert(user_type.into(), level);
        self
    }

    /// The settings, if they make sense.
    ///
    /// # Errors
    /// [`SettingsError`], saying which setting is out of range.
    pub fn build(mut self) -> Result<OrgSettings, SettingsError> {
        self.draft.settle_defaults();
        self.draft.validate().map_err(SettingsError)?;
        // A choice that contradicts itself is refused when made; settings stored so
        // before still read (the rule then waits for keys to be allowed again).
        if !self.draft.allow_security_keys && !self.draft.phishing_resistant_for.is_empty() {
            return Err(SettingsError(
                "user types cannot be required to prove with a security key (phishing_resistant_for) \
                 while security keys are not allowed (allow_security_keys): allow them, or list no types"
                    .into(),
            ));
        }
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

/// Through the same check as [`OrgSettingsBuilder::build`], with the same defaults:
/// stored settings that give only a short session lifetime read back as they built.
impl<'de> Deserialize<'de> for OrgSettings {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<OrgSettings, D::Error> {
        let mut settings = OrgSettings::deserialize(deserializer)?;
        settings.settle_defaults();
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

    /// The default inactivity limit (2 hours) follows a shorter lifetime down, so a
    /// lifetime of an hour builds (and reads back) without an inactivity limit the
    /// admin never set.
    fn settle_defaults(&mut self) {
        let default = super::SessionLimits::DEFAULT.idle_timeout;
        if self.session_idle_timeout == default && self.session_lifetime < default {
            self.session_idle_timeout = self.session_lifetime;
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
        if lockout.max_lock_seconds == 0 {
            return Err("the longest lockout (lockout.max_lock_seconds) must be at least 1 second".into());
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
/// organisation configured. A preset only ever tightens a setting, with one deliberate
/// exception: the NIST preset allows security keys and offers them to every user
/// (SP 800-63B-4 §2.2.2: a verifier at AAL2 offers a phishing-resistant option), even
/// where the organisation had turned keys off.
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
    /// - recovery codes of at least 64 bits (§4.2): every set generated is of 74.3-bit
    ///   codes, under any policy; a set generated by an earlier version of this crate
    ///   (59.45-bit codes) still redeems, and its first use prompts its replacement, as
    ///   every use does here: a prompt to replace a set after a code is used, and a
    ///   recovery code ending the user's other sessions;
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
    /// 24-hour limit and NIST AAL2's 24-hour reauthentication interval (SP 800-63B-4
    /// §2.2.3; 12 hours was revision 3's interval, kept).
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
    /// strict as it was, but for the NIST preset's phishing-resistant option (see
    /// [`Preset`]).
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
        self.log_rows()
            .into_iter()
            .zip(new.log_rows())
            .filter(|((_, from), (_, to))| from != to)
            .map(|((setting, from), (_, to))| SettingChange { setting, from, to })
            .collect()
    }
}

/// How [`OrgSettings::changes_to`] shows each kind of setting: one or more
/// `(name, value)` rows, `none` for nothing set.
mod log {
    use std::collections::BTreeMap;
    use std::fmt::Display;

    use super::Level;
    use crate::vocabulary::LockoutRule;

    type Rows = Vec<(&'static str, String)>;

    pub(super) fn text<T: Display>(name: &'static str, value: &T, rows: &mut Rows) {
        rows.push((name, value.to_string()));
    }

    pub(super) fn seconds(name: &'static str, value: &u64, rows: &mut Rows) {
        rows.push((name, format!("{value} s")));
    }

    pub(super) fn optional_seconds(name: &'static str, value: &Option<u64>, rows: &mut Rows) {
        rows.push((name, value.map_or_else(|| "none".into(), |s| format!("{s} s"))));
    }

    /// To the minute, or to the second where the time is not on a minute: two times
    /// the decision tells apart are never written alike.
    pub(super) fn time(name: &'static str, value: &Option<u64>, rows: &mut Rows) {
        let shown = |secs: u64| {
            let minute = crate::vocabulary::utc::utc_minute(secs);
            match secs % 60 {
                0 => minute,
                second => minute.replace(" UTC", &format!(":{second:02} UTC")),
            }
        };
        rows.push((name, value.map_or_else(|| "none".into(), shown)));
    }

    pub(super) fn list<T: Display>(name: &'static str, items: &[T], rows: &mut Rows) {
        let parts: Vec<String> = items.iter().map(ToString::to_string).collect();
        rows.push((name, if parts.is_empty() { "none".into() } else { parts.join(", ") }));
    }

    /// A list of names (user types) the host wrote: see [`quoted_if_ambiguous`].
    pub(super) fn names(name: &'static str, names: &[String], rows: &mut Rows) {
        let parts: Vec<String> = names.iter().map(|name| quoted_if_ambiguous(name)).collect();
        rows.push((name, if parts.is_empty() { "none".into() } else { parts.join(", ") }));
    }

    pub(super) fn levels(name: &'static str, levels: &BTreeMap<String, Level>, rows: &mut Rows) {
        let parts: Vec<String> =
            levels.iter().map(|(kind, level)| format!("{}: {level}", quoted_if_ambiguous(kind))).collect();
        rows.push((name, if parts.is_empty() { "none".into() } else { parts.join(", ") }));
    }

    /// A name as written, or quoted (with escapes) where it could be read as something
    /// else in a list: empty, `none`, holding a comma, a colon, a quote, a control
    /// character or spaces at either end. So two different lists never read alike.
    fn quoted_if_ambiguous(name: &str) -> String {
        let ambiguous = name.is_empty()
            || name == "none"
            || name.trim() != name
            || name.chars().any(|c| matches!(c, ',' | ':' | '"' | '\\') || c.is_control());
        if ambiguous { format!("{name:?}") } else { name.to_owned() }
    }

    /// Each of the rule's four numbers on its own row (`lockout.max_failures`, ...).
    pub(super) fn lockout(_: &'static str, rule: &LockoutRule, rows: &mut Rows) {
        text("lockout.max_failures", &rule.max_failures, rows);
        seconds("lockout.lock_seconds", &rule.lock_seconds, rows);
        seconds("lockout.max_lock_seconds", &rule.max_lock_seconds, rows);
        text("lockout.hard_limit", &rule.hard_limit, rows);
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
    fn a_stored_jurisdiction_reads_with_what_it_holds() {
        let au: Jurisdiction = serde_json::from_str(r#"{"country":"au"}"#).unwrap();
        assert_eq!(au, Jurisdiction::country("AU"));
        let linked: Jurisdiction = serde_json::from_str(r#"{"country":"NZ","xero_linked":true}"#).unwrap();
        assert!(linked.tax_data_rule_applies());
        assert_eq!(serde_json::from_str::<Jurisdiction>("{}").unwrap(), Jurisdiction::default());
    }

    #[test]
    fn every_setting_is_read_back_and_logged_when_changed() {
        let before = OrgSettings::default();
        let after = OrgSettings::builder()
            .level("practitioner", Level::Mandatory)
            .default_level(Level::Suggested)
            .enforce_for_all(true)
            .grace_until(Some(1_767_225_600))
            .allowed_networks(vec!["10.0.0.0/8".parse().unwrap()])
            .lockout(LockoutRule {
                max_failures: 3,
                lock_seconds: 60,
                max_lock_seconds: 3600,
                hard_limit: 50,
            })
            .enrollment_lifetime(900)
            .remember_device_max(3600)
            .backup_required_for_principals(false)
            .principal_backup(BackupRule::RequireDestination)
            .allow_self_deactivation(false)
            .allow_email_codes(false)
            .allow_sms_codes(false)
            .max_totp_period(Some(60))
            .fresh_proof_window(600)
            .session_lifetime(3600)
            .session_idle_timeout(600)
            .sso_without_mfa(vec!["*".into()])
            .recovery_code_ends_sessions(true)
            .phishing_resistant_for(vec!["admin".into()])
            .offer_phishing_resistant(true)
            .presets(vec![Preset::NistAal2])
            .build()
            .unwrap();
        // Keys off beside listed types does not build, but such settings stored before
        // still read, and a change to them is logged as any other.
        let after = OrgSettings { allow_security_keys: false, ..after };
        assert_eq!(after.grace_until(), Some(1_767_225_600));
        assert_eq!(after.principal_backup(), BackupRule::RequireDestination);
        assert!(!after.allow_sms_codes() && !after.allow_security_keys());
        assert_eq!(after.max_totp_period(), Some(60));
        assert_eq!(after.sso_without_mfa(), ["*"]);
        assert_eq!(after.phishing_resistant_for(), ["admin"]);
        assert_eq!(after.presets(), [Preset::NistAal2]);
        let changes = before.changes_to(&after);
        let names: Vec<&str> = changes.iter().map(|c| c.setting).collect();
        assert_eq!(
            names,
            [
                "levels",
                "default_level",
                "enforce_for_all",
                "grace_until",
                "allowed_networks",
                "lockout.max_failures",
                "lockout.lock_seconds",
                "lockout.max_lock_seconds",
                "lockout.hard_limit",
                "enrollment_lifetime",
                "remember_device_max",
                "backup_required_for_principals",
                "principal_backup",
                "allow_self_deactivation",
                "allow_email_codes",
                "allow_sms_codes",
                "max_totp_period",
                "fresh_proof_window",
                "session_lifetime",
                "session_idle_timeout",
                "sso_without_mfa",
                "recovery_code_ends_sessions",
                "allow_security_keys",
                "phishing_resistant_for",
                "offer_phishing_resistant",
                "presets",
            ]
        );
        let shown = |name: &str| {
            let change = changes.iter().find(|c| c.setting == name).unwrap();
            (change.from.as_str(), change.to.as_str())
        };
        assert_eq!(shown("levels"), ("none", "practitioner: mandatory"));
        assert_eq!(shown("grace_until"), ("none", "2026-01-01 00:00 UTC"));
        assert_eq!(shown("lockout.lock_seconds"), ("900 s", "60 s"));
        assert_eq!(shown("max_totp_period"), ("none", "60 s"));
        assert_eq!(shown("allowed_networks"), ("none", "10.0.0.0/8"));
        assert!(after.changes_to(&after).is_empty());
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
