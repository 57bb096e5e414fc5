//! The standard, configurable policy (requirements R9-R15 and R18-R20 of `docs/requirements.md`).

use std::borrow::Cow;

use super::settings::{Level, OrgSettings, Preset};
use super::{Decision, Policy, SignInContext, UserFacts};
use crate::vocabulary::{LockoutRule, Method, Outcome, Reason, Refusal};

/// The standard rules, from the organisation's [`OrgSettings`] in the sign-in context
/// (or the policy's defaults), tightened by its compliance [`Preset`]s.
///
/// After the password, in this order (the first rule that applies decides):
///
/// | # | when | decision | reason |
/// |---|---|---|---|
/// | 1 | an allowlist is set and the address is not on it (or unknown) | refuse | `Refusal::AddressNotAllowed` |
/// | 2 | the user signed in through SSO | allow | `SingleSignOn` |
/// | 3 | the second factor is disabled after too many failures, or the user is locked out | refuse | `Refusal::Disabled`, `Refusal::LockedOut` |
/// | 3a | an admin reset the user's MFA and it is not set up again | require enrollment | `ResetByAdmin` |
/// | 4 | the user has MFA (whatever the level) | ask for a code with the methods the organisation allows (and for a backup method if one is required and missing) | `Enrolled` |
/// | 5 | mandatory (level, org switch or preset), before the grace deadline | suggest, with the deadline | `LevelMandatory`, `OrgEnforced`, `CompliancePreset` |
/// | 6 | mandatory, no grace deadline or past it | require enrollment | as above |
/// | 7 | AU/NZ tax-data rule, before or without a grace deadline | suggest, at every sign-in | `JurisdictionRule` |
/// | 8 | AU/NZ tax-data rule, past the grace deadline | require enrollment | `JurisdictionRule` |
/// | 9 | level "suggested" | suggest | `LevelSuggested` |
/// | 10 | level "upon request" | allow | `NotRequired` |
///
/// Where rules 5-8 both apply, a requirement beats a suggestion, and mandatory beats
/// the jurisdiction rule.
///
/// ```
/// use std::sync::Arc;
/// use mfa_kit::Reason;
/// use mfa_kit::policy::{Decision, Jurisdiction, Level, OrgSettings, Policy, SignInContext, StandardPolicy, UserFacts};
///
/// let firm = Arc::new(OrgSettings::default().with_level("practitioner", Level::Mandatory));
/// let context = SignInContext::default().with_user_type("practitioner").with_org(firm);
/// let decision = StandardPolicy::new().decide(&context, &UserFacts::default(), 1_700_000_000);
/// assert_eq!(decision, Ok(Decision::RequireEnrollment { reason: Reason::LevelMandatory }));
///
/// // An Australian firm linked to Xero, under the ATO preset: MFA for everyone, no way out.
/// let context = SignInContext::default().with_jurisdiction(Jurisdiction::country("AU").with_xero());
/// let ato = StandardPolicy::ato_tax_data();
/// assert_eq!(ato.decide(&context, &UserFacts::default(), 0).map(|d| d.reason()), Ok(Reason::CompliancePreset));
/// assert_eq!(ato.lockout(&context).max_failures, 5);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StandardPolicy {
    defaults: OrgSettings,
    presets: Vec<Preset>,
    /// Apply [`Preset::AtoOperationalSecurity`] wherever the context's jurisdiction
    /// falls under the AU/NZ tax-data rule.
    ato_for_tax_data: bool,
}

impl StandardPolicy {
    /// The standard rules with default settings for contexts that carry none.
    pub fn new() -> StandardPolicy {
        StandardPolicy::default()
    }

    /// For products connected to the Australian Taxation Office: the standard rules
    /// under [`Preset::AtoOperationalSecurity`].
    pub fn ato_tax_data() -> StandardPolicy {
        StandardPolicy::new().with_preset(Preset::AtoOperationalSecurity)
    }

    /// The standard rules under [`Preset::NistAal2`].
    pub fn nist_aal2() -> StandardPolicy {
        StandardPolicy::new().with_preset(Preset::NistAal2)
    }

    /// The same policy with one more preset on top.
    #[must_use]
    pub fn with_preset(mut self, preset: Preset) -> StandardPolicy {
        if !self.presets.contains(&preset) {
            self.presets.push(preset);
        }
        self
    }

    /// The same policy, applying [`Preset::AtoOperationalSecurity`] to every
    /// organisation whose jurisdiction falls under the AU/NZ tax-data rule
    /// ([`super::Jurisdiction::tax_data_rule_applies`]: in Australia or New Zealand,
    /// linked to Xero or with accounting configured) and to no other: one service for
    /// Australian tax-data firms and everyone else, without a policy of the host's own.
    /// An organisation can also name its own presets ([`OrgSettingsBuilder::presets`](super::OrgSettingsBuilder::presets)).
    #[must_use]
    pub fn with_ato_for_tax_data(mut self) -> StandardPolicy {
        self.ato_for_tax_data = true;
        self
    }

    /// The same policy with the settings used when a context carries none.
    #[must_use]
    pub fn with_defaults(mut self, defaults: OrgSettings) -> StandardPolicy {
        self.defaults = defaults;
        self
    }

    /// The presets applied to every organisation.
    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    /// The presets in force for this context, each once: the policy's, the
    /// organisation's own ([`OrgSettingsBuilder::presets`](super::OrgSettingsBuilder::presets)), and the ATO preset where
    /// [`StandardPolicy::with_ato_for_tax_data`] applies it.
    pub fn presets_for(&self, context: &SignInContext) -> Vec<Preset> {
        let automatic = (self.ato_for_tax_data && context.jurisdiction.tax_data_rule_applies())
            .then_some(Preset::AtoOperationalSecurity);
        let mut all: Vec<Preset> = Vec::new();
        let org = self.configured(context).presets.iter().copied();
        for preset in self.presets.iter().copied().chain(org).chain(automatic) {
            if !all.contains(&preset) {
                all.push(preset);
            }
        }
        all
    }

    /// Whether any preset may apply to this context (cheap: no allocation).
    fn any_preset(&self, context: &SignInContext) -> bool {
        !self.presets.is_empty()
            || !self.configured(context).presets.is_empty()
            || (self.ato_for_tax_data && context.jurisdiction.tax_data_rule_applies())
    }

    /// The organisation's settings as configured (before presets).
    fn configured<'a>(&'a self, context: &'a SignInContext) -> &'a OrgSettings {
        context.org.as_deref().unwrap_or(&self.defaults)
    }

    /// The settings in force: the organisation's, tightened by every preset.
    pub fn effective<'a>(&'a self, context: &'a SignInContext) -> Cow<'a, OrgSettings> {
        let mut settings = Cow::Borrowed(self.configured(context));
        if self.any_preset(context) {
            for preset in self.presets_for(context) {
                settings = Cow::Owned(preset.tighten(&settings));
            }
        }
        settings
    }

    /// One reading of the settings in force, without copying them when no preset
    /// applies (the common case, on every proof).
    fn read<R>(&self, context: &SignInContext, read: impl FnOnce(&OrgSettings) -> R) -> R {
        if self.any_preset(context) { read(&self.effective(context)) } else { read(self.configured(context)) }
    }

    /// Whether this user may be without MFA: turned off by themselves (`by_user`,
    /// which the organisation's own switch may forbid) or by an admin (which only the
    /// rules of the user's level, the jurisdiction and the presets may forbid).
    fn may_go_without(&self, context: &SignInContext, by_user: bool) -> Result<(), Reason> {
        let settings = self.effective(context);
        if context.jurisdiction.tax_data_rule_applies() {
            return Err(Reason::JurisdictionRule);
        }
        if !settings.allow_self_deactivation {
            let by_org = !self.configured(context).allow_self_deactivation;
            if !by_org {
                return Err(Reason::CompliancePreset);
            }
            if by_user {
                return Err(Reason::DeactivationDisabled);
            }
        }
        match self.mandatory_reason(context, &settings) {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    /// Why MFA is mandatory for this user, if it is.
    fn mandatory_reason(&self, context: &SignInContext, effective: &OrgSettings) -> Option<Reason> {
        let user_type = context.user_type.as_deref();
        if effective.level_for(user_type) != Level::Mandatory {
            // A user who must prove with a phishing-resistant factor must have a factor
            // to prove with, whatever their level.
            return listed(&effective.phishing_resistant_for, context).then_some(Reason::LevelMandatory);
        }
        let configured = self.configured(context);
        Some(if configured.level_for(user_type) != Level::Mandatory {
            Reason::CompliancePreset
        } else if configured.enforce_for_all {
            Reason::OrgEnforced
        } else {
            Reason::LevelMandatory
        })
    }

    /// Rules 5 to 10: what a user without MFA is asked.
    fn enrollment_decision(&self, context: &SignInContext, settings: &OrgSettings, now: u64) -> Decision {
        let grace = settings.grace_until.filter(|deadline| now < *deadline);
        let grace_passed = settings.grace_until.is_some() && grace.is_none();
        let mandatory = self.mandatory_reason(context, settings);
        let jurisdiction = context.jurisdiction.tax_data_rule_applies();
        match (mandatory, jurisdiction) {
            (Some(reason), _) if grace.is_none() => Decision::RequireEnrollment { reason },
            (_, true) if grace_passed => Decision::RequireEnrollment { reason: Reason::JurisdictionRule },
            (Some(reason), _) => Decision::SuggestEnrollment { reason, deadline: grace },
            (None, true) => Decision::SuggestEnrollment { reason: Reason::JurisdictionRule, deadline: grace },
            (None, false) => match settings.level_for(context.user_type.as_deref()) {
                Level::Suggested => {
                    Decision::SuggestEnrollment { reason: Reason::LevelSuggested, deadline: None }
                }
                Level::UponRequest | Level::Mandatory => Decision::Allow { reason: Reason::NotRequired },
            },
        }
    }
}

impl Policy for StandardPolicy {
    fn decide(&self, context: &SignInContext, user: &UserFacts, now: u64) -> Outcome<Decision> {
        let settings = self.effective(context);
        if let Some(refusal) = address_refusal(&settings, context) {
            return Err(refusal);
        }
        if context.via_sso {
            return Ok(Decision::Allow { reason: Reason::SingleSignOn });
        }
        if user.disabled {
            return Err(Refusal::Disabled);
        }
        if let Some(until) = user.locked_until.filter(|until| now < *until) {
            return Err(Refusal::LockedOut { until });
        }
        if user.must_enroll {
            return Ok(Decision::RequireEnrollment { reason: Reason::ResetByAdmin });
        }
        let mut methods: Vec<_> = user.methods.iter().copied().filter(|m| settings.allows(*m)).collect();
        // Facts a host made by hand may list a method the organisation does not count
        // as its only factor (an e-mail address under the NIST preset): no MFA then.
        let counted = methods.iter().any(|m| *m != Method::RecoveryCode);
        if user.has_mfa() && counted {
            let blocking = settings.principal_backup == super::BackupRule::RequireDestination;
            let has_backup = if blocking { user.has_backup_destination } else { user.has_backup };
            let needs_backup = self.backup_required(context) && !has_backup;
            // The user's key first, whatever order the facts list it in.
            if let Some(at) = methods.iter().position(|m| *m == Method::SecurityKey) {
                methods[..=at].rotate_right(1);
            }
            let required = listed(&settings.phishing_resistant_for, context);
            let has_key = methods.contains(&Method::SecurityKey);
            if required && has_key {
                // A code is not enough: the key, or a recovery code for a lost key.
                methods.retain(|m| m.is_phishing_resistant() || *m == Method::RecoveryCode);
            }
            let restricted = methods.iter().copied().filter(|m| m.is_restricted()).collect();
            let may_register = settings.allows(Method::SecurityKey) && !has_key;
            return Ok(Decision::Challenge {
                methods,
                reason: Reason::Enrolled,
                needs_backup,
                backup_blocking: needs_backup && blocking,
                restricted,
                offer_security_key: may_register && (required || settings.offer_phishing_resistant),
                security_key_blocking: may_register && required,
            });
        }
        Ok(self.enrollment_decision(context, &settings, now))
    }

    fn refuse_request(&self, context: &SignInContext, _now: u64) -> Option<Refusal> {
        self.read(context, |settings| address_refusal(settings, context))
    }

    fn lockout(&self, context: &SignInContext) -> LockoutRule {
        self.read(context, |settings| settings.lockout)
    }

    fn enrollment_lifetime(&self, context: &SignInContext) -> u64 {
        self.read(context, |settings| settings.enrollment_lifetime)
    }

    fn may_deactivate(&self, context: &SignInContext, _user: &UserFacts) -> Result<(), Reason> {
        self.may_go_without(context, true)
    }

    fn may_turn_off(&self, context: &SignInContext, _user: &UserFacts) -> Result<(), Reason> {
        self.may_go_without(context, false)
    }

    fn remember_device_max(&self, context: &SignInContext) -> u64 {
        self.read(context, |settings| settings.remember_device_max)
    }

    fn backup_required(&self, context: &SignInContext) -> bool {
        context.principal && self.read(context, |settings| settings.backup_required_for_principals)
    }

    fn method_allowed(&self, context: &SignInContext, method: crate::vocabulary::Method) -> bool {
        self.read(context, |settings| settings.allows(method))
    }

    fn max_totp_period(&self, context: &SignInContext) -> Option<u64> {
        self.read(context, |settings| settings.max_totp_period)
    }

    /// The longest retention of the presets in force ([`Preset::audit_retention`]).
    fn audit_retention(&self, context: &SignInContext) -> u64 {
        self.presets_for(context).into_iter().map(Preset::audit_retention).max().unwrap_or(0)
    }

    fn fresh_proof_window(&self, context: &SignInContext) -> u64 {
        self.read(context, |settings| settings.fresh_proof_window)
    }

    fn session_limits(&self, context: &SignInContext) -> super::SessionLimits {
        self.read(context, |settings| {
            super::SessionLimits::new(settings.session_lifetime, settings.session_idle_timeout)
        })
    }

    fn mfa_unavailable(&self, context: &SignInContext) -> Option<Reason> {
        (context.via_sso && self.read(context, |settings| listed(&settings.sso_without_mfa, context)))
            .then_some(Reason::SingleSignOn)
    }

    fn phishing_resistant_required(&self, context: &SignInContext) -> bool {
        self.read(context, |settings| {
            settings.allows(Method::SecurityKey) && listed(&settings.phishing_resistant_for, context)
        })
    }

    fn recovery_code_ends_other_sessions(&self, context: &SignInContext) -> bool {
        self.read(context, |settings| settings.recovery_code_ends_sessions)
    }

    /// `true` under [`Preset::NistAal2`] (NIST SP 800-63B-4 §4.2).
    fn replace_recovery_codes_after_use(&self, context: &SignInContext) -> bool {
        self.any_preset(context) && self.presets_for(context).contains(&Preset::NistAal2)
    }

    /// [`StandardPolicy::presets_for`].
    fn presets_in_force(&self, context: &SignInContext) -> Vec<Preset> {
        self.presets_for(context)
    }

    /// [`StandardPolicy::effective`].
    fn settings_in_force(&self, context: &SignInContext) -> Option<OrgSettings> {
        Some(self.effective(context).into_owned())
    }
}

/// Whether the context's user type is in `types` (`"*"` lists every type).
fn listed(types: &[String], context: &SignInContext) -> bool {
    let user_type = context.user_type.as_deref();
    types.iter().any(|t| t == "*" || Some(t.as_str()) == user_type)
}

/// Rule 1: an allowlist is set and the request's address is not on it (or unknown).
fn address_refusal(settings: &OrgSettings, context: &SignInContext) -> Option<Refusal> {
    let networks = &settings.allowed_networks;
    let allowed = networks.is_empty()
        || context.request.address.is_some_and(|address| networks.iter().any(|n| n.contains(address)));
    (!allowed).then_some(Refusal::AddressNotAllowed)
}
