//! What an organisation shows an auditor: its compliance evidence ([`Evidence`]) and
//! its audit trail, exported for a period (`ExportFormat`, feature `export`).
//!
//! The ATO's Operational Security Framework asks a provider of software that connects
//! to it to show that MFA is used, that repeated wrong codes lock an account (after at
//! most 5 attempts), that remembered devices last less than 24 hours, that a second
//! factor is asked again before sensitive actions, and that audit logs holding who,
//! when, the outcome and the device or address are kept for 12 months (R15, R19, R24
//! of `docs/requirements.md`). [`Evidence`] gathers those figures for one organisation
//! from the rules in force and what the store holds; it is pure data, built by
//! [`Evidence::under`] and rendered as JSON (serde) or CSV ([`Evidence::to_csv`]).
//! The service's `evidence_report` reads the figures and builds it.
//!
//! Both CSV renderings here quote cells as RFC 4180 says and put a `'` before a cell
//! that a spreadsheet would read as a formula ([`csv_cell`]): auditors open exports in
//! Excel, and a device label or a user id is text a user chose. No secret is written:
//! audit events carry none.

use serde::Serialize;

use super::Env;
use super::oversight::ComplianceCounts;
use crate::event::AuditEvent;
use crate::policy::{Level, OrgSettings, Preset};
use crate::vocabulary::utc::{months_before, utc_rfc3339};

#[cfg(feature = "export")]
mod export;
use crate::vocabulary::{LockoutRule, OrgId};
#[cfg(feature = "export")]
pub use export::{ExportError, ExportFormat, TRAIL_CSV_COLUMNS};

/// The fields every audit event carries, as the evidence report lists them: whose
/// account, who acted, when, success or failure, what happened, from which address and
/// device, and under which organisation.
pub const AUDIT_FIELDS: &[&str] =
    &["user", "actor", "time", "outcome", "kind", "address", "device", "organisation"];

/// How long the ATO's Operational Security Framework asks audit logs to be kept, in
/// calendar months.
pub const RETENTION_MONTHS: u32 = 12;

/// Who uses MFA in the organisation, from its records' [`ComplianceCounts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UserCoverage {
    /// Users with a record filed under the organisation.
    pub total: usize,
    /// Users with a second factor set up: set up, locked out or disabled by the hard
    /// limit (the last two have one, and cannot use it for now).
    pub with_mfa: usize,
    /// Users who must use MFA and have not set it up (blocked now, or within a grace
    /// deadline).
    pub required_without_mfa: usize,
    /// Users in each compliance state.
    pub counts: ComplianceCounts,
}

impl UserCoverage {
    /// The coverage the counts describe.
    pub fn of(counts: ComplianceCounts) -> UserCoverage {
        let with_mfa = counts.set_up + counts.locked + counts.disabled;
        let required_without_mfa = counts.required + counts.required_with_deadline;
        let total = with_mfa + required_without_mfa + counts.suggested + counts.not_required + counts.exempt;
        UserCoverage { total, with_mfa, required_without_mfa, counts }
    }
}

/// How far back the organisation's audit trail reaches, against the 12 months asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditCoverage {
    /// The fields every event carries ([`AUDIT_FIELDS`]).
    pub fields: &'static [&'static str],
    /// When the oldest event kept for the organisation happened, if any is kept.
    pub oldest_event: Option<u64>,
    /// The retention asked, in calendar months ([`RETENTION_MONTHS`]).
    pub retention_months: u32,
    /// The retention the organisation's presets keep the trail for, in seconds
    /// ([`crate::policy::Policy::audit_retention`], which
    /// [`crate::service::MfaService::prune_audit`] enforces); 0 when none does.
    pub retention_kept: u64,
    /// The start of the period the trail must cover: [`RETENTION_MONTHS`] calendar
    /// months before the report, or `retention_kept` before it where that reaches
    /// further back (the ATO preset's 366 days, one day more in a year without a 29
    /// February), so the report asks what the pruning keeps.
    pub required_from: u64,
    /// Whether the trail reaches back that far: the oldest event kept is at or before
    /// `required_from`. `false` for a younger organisation too (nothing is missing,
    /// but 12 months cannot be shown yet) and for one with no event at all.
    pub retention_covered: bool,
}

/// An organisation's compliance evidence: who uses MFA, and the rules in force, as the
/// ATO's Operational Security Framework asks a provider to show. Holds no secret and
/// no personal data beyond counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Evidence {
    /// The organisation.
    pub org: OrgId,
    /// When the report was made, in seconds since the Unix epoch.
    pub generated_at: u64,
    /// Who must use MFA and who does.
    pub users: UserCoverage,
    /// The compliance presets in force ([`crate::policy::Policy::presets_in_force`]).
    pub presets: Vec<Preset>,
    /// Whether every user of the organisation must use MFA by the settings in force
    /// (the org-wide switch, a preset, or every level mandatory); `None` when the
    /// policy does not keep its rules as settings
    /// ([`crate::policy::Policy::settings_in_force`]).
    pub mfa_mandatory_for_all: Option<bool>,
    /// Wrong codes before a lockout, its length, and the hard limit after which the
    /// second factor is disabled until an admin's reset.
    pub lockout: LockoutRule,
    /// The longest a remembered device skips the second factor, in seconds (0: devices
    /// are not remembered).
    pub remember_device_max: u64,
    /// How recently a second factor must have been proved before a sensitive action
    /// (step-up), in seconds.
    pub fresh_proof_window: u64,
    /// The longest a session lasts from the sign-in before the user authenticates
    /// again, in seconds.
    pub session_lifetime: u64,
    /// The longest a session may go without a request before the user authenticates
    /// again, in seconds.
    pub session_idle_timeout: u64,
    /// The audit trail: its fields, and how far back it reaches.
    pub audit: AuditCoverage,
}

impl Evidence {
    /// The evidence for organisation `org` under the policy and context of `env` (the
    /// organisation's settings and jurisdiction; `env.now` is the report's time), with
    /// the counts of its records and the oldest event kept for it.
    pub fn under(
        env: &Env<'_>,
        org: OrgId,
        counts: ComplianceCounts,
        oldest: Option<&AuditEvent>,
    ) -> Evidence {
        let (policy, context) = (env.policy, env.context);
        let limits = policy.session_limits(context);
        let retention_kept = policy.audit_retention(context);
        let required_from =
            months_before(env.now, RETENTION_MONTHS).min(env.now.saturating_sub(retention_kept));
        let oldest_event = oldest.map(|event| event.at);
        Evidence {
            org,
            generated_at: env.now,
            users: UserCoverage::of(counts),
            presets: policy.presets_in_force(context),
            mfa_mandatory_for_all: policy.settings_in_force(context).as_ref().map(mandatory_for_all),
            lockout: policy.lockout(context),
            remember_device_max: policy.remember_device_max(context),
            fresh_proof_window: policy.fresh_proof_window(context),
            session_lifetime: limits.lifetime,
            session_idle_timeout: limits.idle_timeout,
            audit: AuditCoverage {
                fields: AUDIT_FIELDS,
                oldest_event,
                retention_months: RETENTION_MONTHS,
                retention_kept,
                required_from,
                retention_covered: oldest_event.is_some_and(|at| at <= required_from),
            },
        }
    }

    /// The evidence as CSV: a header `section,item,value` and one row per figure,
    /// times in RFC 3339 UTC, durations in seconds, lines ending in CRLF.
    pub fn to_csv(&self) -> String {
        let mut out = csv_line(&["section", "item", "value"]);
        for (section, item, value) in self.rows() {
            out.push_str(&csv_line(&[section, item, &value]));
        }
        out
    }

    /// The figures as `(section, item, value)`.
    fn rows(&self) -> Vec<(&'static str, &'static str, String)> {
        let c = &self.users.counts;
        let time = |at: Option<u64>| at.map(utc_rfc3339).unwrap_or_default();
        let presets: Vec<&str> = self.presets.iter().map(|preset| preset.as_str()).collect();
        let mandatory = self.mfa_mandatory_for_all.map_or_else(|| "unknown".to_string(), |m| m.to_string());
        vec![
            ("organisation", "id", self.org.to_string()),
            ("organisation", "generated_at", utc_rfc3339(self.generated_at)),
            ("users", "total", self.users.total.to_string()),
            ("users", "with_mfa", self.users.with_mfa.to_string()),
            ("users", "required_without_mfa", self.users.required_without_mfa.to_string()),
            ("compliance", "set_up", c.set_up.to_string()),
            ("compliance", "required", c.required.to_string()),
            ("compliance", "required_with_deadline", c.required_with_deadline.to_string()),
            ("compliance", "suggested", c.suggested.to_string()),
            ("compliance", "not_required", c.not_required.to_string()),
            ("compliance", "exempt", c.exempt.to_string()),
            ("compliance", "locked", c.locked.to_string()),
            ("compliance", "disabled", c.disabled.to_string()),
            ("policy", "presets", presets.join(" ")),
            ("policy", "mfa_mandatory_for_all", mandatory),
            ("lockout", "max_failures", self.lockout.max_failures.to_string()),
            ("lockout", "lock_seconds", self.lockout.lock_seconds.to_string()),
            ("lockout", "max_lock_seconds", self.lockout.max_lock_seconds.to_string()),
            ("lockout", "hard_limit", self.lockout.hard_limit.to_string()),
            ("remembered_devices", "max_seconds", self.remember_device_max.to_string()),
            ("step_up", "fresh_proof_window_seconds", self.fresh_proof_window.to_string()),
            ("session", "lifetime_seconds", self.session_lifetime.to_string()),
            ("session", "idle_timeout_seconds", self.session_idle_timeout.to_string()),
            ("audit", "fields", self.audit.fields.join(" ")),
            ("audit", "oldest_event", time(self.audit.oldest_event)),
            ("audit", "retention_months", self.audit.retention_months.to_string()),
            ("audit", "retention_kept_seconds", self.audit.retention_kept.to_string()),
            ("audit", "required_from", utc_rfc3339(self.audit.required_from)),
            ("audit", "retention_covered", self.audit.retention_covered.to_string()),
        ]
    }
}

impl core::ops::AddAssign for ComplianceCounts {
    /// Adds the counts of another page of the list.
    fn add_assign(&mut self, other: ComplianceCounts) {
        let ComplianceCounts {
            set_up,
            required,
            required_with_deadline,
            suggested,
            not_required,
            exempt,
            locked,
            disabled,
        } = other;
        self.set_up += set_up;
        self.required += required;
        self.required_with_deadline += required_with_deadline;
        self.suggested += suggested;
        self.not_required += not_required;
        self.exempt += exempt;
        self.locked += locked;
        self.disabled += disabled;
    }
}

/// Whether the settings make MFA mandatory for every user type.
fn mandatory_for_all(settings: &OrgSettings) -> bool {
    settings.enforce_for_all
        || (settings.default_level == Level::Mandatory
            && settings.levels.values().all(|level| *level == Level::Mandatory))
}

/// One CSV cell (RFC 4180): in double quotes, inner quotes doubled, when it holds a
/// comma, a quote or a line break; and with a `'` in front when it starts with `=`,
/// `+`, `-`, `@`, a tab or a line break, so a spreadsheet shows it as text rather than
/// running it as a formula (CSV injection).
pub fn csv_cell(text: &str) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r', '\n']);
    let guarded = if risky { format!("'{text}") } else { text.to_string() };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// One CSV line of `cells`, each through [`csv_cell`], ending in CRLF.
pub(crate) fn csv_line(cells: &[&str]) -> String {
    let mut line = cells.iter().map(|cell| csv_cell(cell)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("=cmd|' /C calc'!A0,\"x\""), "\"'=cmd|' /C calc'!A0,\"\"x\"\"\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    #[cfg(feature = "export")]
    fn the_header_names_the_columns() {
        assert_eq!(ExportFormat::Csv.header(), csv_line(TRAIL_CSV_COLUMNS));
    }
}
