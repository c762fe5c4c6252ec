//! The records the store keeps and returns: organisations, hosts, users, runs, findings,
//! directives and their per-host status.

use chrono::{DateTime, Utc};
use ferret_core::{Finding, Severity};
use serde::Serialize;

/// An organisation (an agency): hosts, users and runs belong to exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Org {
    /// Database id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// An enrolled host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Host {
    /// Database id.
    pub id: i64,
    /// The organisation it reports to.
    pub org_id: i64,
    /// The name it gave at enrolment.
    pub name: String,
    /// When it enrolled.
    pub enrolled: DateTime<Utc>,
    /// When it last sent a report.
    pub last_seen: Option<DateTime<Utc>>,
}

/// A dashboard user's role in one organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads the organisation's data.
    Viewer,
    /// Reads, and manages enrolment secrets.
    Admin,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// Parses `admin` or `viewer`.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A dashboard user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// The Argon2 PHC string of the password.
    pub password_hash: String,
}

/// A logged-in dashboard session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user_id: i64,
    /// The user's name.
    pub user_name: String,
    /// The CSRF token every form of this session must carry.
    pub csrf: String,
    /// When it ends.
    pub expires: DateTime<Utc>,
}

/// One stored run (the header of a report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    /// Database id.
    pub id: i64,
    /// Organisation.
    pub org_id: i64,
    /// Host.
    pub host_id: i64,
    /// Host name.
    pub host_name: String,
    /// The report's run id (unique per host).
    pub run_id: String,
    /// The directive this run answered, if any.
    pub directive_id: Option<i64>,
    /// The verb.
    pub verb: String,
    /// ferret version of the host.
    pub tool_version: String,
    /// SHA-256 of the host's ferret executable.
    pub exe_sha256: Option<String>,
    /// SHA-256 of the rule set used.
    pub ruleset_sha256: Option<String>,
    /// Run start.
    pub started: DateTime<Utc>,
    /// Run end.
    pub finished: DateTime<Utc>,
    /// When the collector stored it.
    pub received: DateTime<Utc>,
    /// Whether coverage was complete.
    pub complete: bool,
    /// Number of findings.
    pub findings: i64,
    /// Number of problems.
    pub problems: i64,
    /// Highest severity among the findings.
    pub max_severity: Option<Severity>,
}

/// What [`crate::RunStore::ingest`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    /// Database id of the run.
    pub id: i64,
    /// The report's run id.
    pub run_id: String,
    /// True when this run id was already stored for this host (nothing was added).
    pub duplicate: bool,
}

/// One stored finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FindingRow {
    /// Database id.
    pub id: i64,
    /// Database id of the run.
    pub run_pk: i64,
    /// Host.
    pub host_id: i64,
    /// Host name.
    pub host_name: String,
    /// The finding as reported.
    pub finding: Finding,
}

/// Filters for listing findings. Every value is bound as a parameter, never spliced.
#[derive(Clone, Debug, Default)]
pub struct FindingFilter {
    /// Only this run.
    pub run_pk: Option<i64>,
    /// Only this host.
    pub host_id: Option<i64>,
    /// Host name contains this (case-insensitive).
    pub host: Option<String>,
    /// Rule id or name contains this (case-insensitive).
    pub rule: Option<String>,
    /// At least this severity.
    pub min_severity: Option<Severity>,
    /// Most rows returned (0 means 1000).
    pub limit: i64,
    /// Rows skipped.
    pub offset: i64,
}

/// A directive to publish.
#[derive(Clone, Debug, Default)]
pub struct NewDirective {
    /// A short name.
    pub name: String,
    /// The verb (`scan`, `verify`, `hunt`, `check`).
    pub verb: String,
    /// A one-line summary for people (`check --campaign=pulse-secure -- /`); never run.
    pub command: String,
    /// The signed document's exact text.
    pub document: Option<String>,
    /// The signature's text.
    pub signature: Option<String>,
    /// An optional rule bundle the command uses.
    pub bundle: Option<Vec<u8>>,
    /// When every host should have answered.
    pub deadline: DateTime<Utc>,
    /// The organisations it applies to.
    pub orgs: Vec<i64>,
}

/// A published directive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Directive {
    /// Database id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The verb.
    pub verb: String,
    /// A one-line summary for people (for a directive stored before signing existed, its
    /// unsigned command, which agents refuse).
    pub command: String,
    /// The signed document's exact text (`None`: an unsigned directive from before).
    #[serde(skip)]
    pub document: Option<String>,
    /// The signature's text.
    #[serde(skip)]
    pub signature: Option<String>,
    /// The rule bundle.
    #[serde(skip)]
    pub bundle: Option<Vec<u8>>,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// When it was published.
    pub created: DateTime<Utc>,
    /// When it was closed (agents are no longer served it).
    pub closed: Option<DateTime<Utc>>,
    /// Organisations it applies to (sorted).
    pub orgs: Vec<i64>,
}

/// What an agent says after running a directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectiveOutcome {
    /// `ran` (the command finished and reported) or `errored`.
    pub errored: bool,
    /// The command's exit code.
    pub exit_code: Option<i64>,
    /// A message (the error, for `errored`).
    pub message: Option<String>,
    /// The run id of the report it produced.
    pub run_id: Option<String>,
}

/// A host's state for one directive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Its latest run for the directive had findings.
    Affected,
    /// Its latest run for the directive had no findings and was complete.
    Clean,
    /// Its latest run for the directive is clean and an earlier one was affected (only
    /// in the roll-up of [`crate::RollupStore::rollup_summary`] and [`crate::RollupStore::rollup_page`];
    /// [`crate::DirectiveStore::directive_status`] marks such a host clean with `fixed` set).
    Fixed,
    /// Its latest run for the directive had no findings but was not complete (exit status
    /// 3: something could not be examined, nothing was examined, or for `check` a campaign
    /// verdict is UNKNOWN). Never counted clean.
    Incomplete,
    /// The agent reported that the command failed.
    Errored,
    /// No answer yet; the deadline has not passed.
    Pending,
    /// No answer and the deadline has passed.
    #[serde(rename = "not_answered")]
    Missing,
}

impl HostStatus {
    /// Every status, in display order.
    pub const ALL: [HostStatus; 7] = [
        HostStatus::Affected,
        HostStatus::Clean,
        HostStatus::Fixed,
        HostStatus::Incomplete,
        HostStatus::Errored,
        HostStatus::Pending,
        HostStatus::Missing,
    ];

    /// The machine name used in exports, query strings and JSON: `affected`, `clean`,
    /// `fixed`, `incomplete`, `errored`, `pending`, `not_answered`.
    pub fn code(self) -> &'static str {
        match self {
            HostStatus::Affected => "affected",
            HostStatus::Clean => "clean",
            HostStatus::Fixed => "fixed",
            HostStatus::Incomplete => "incomplete",
            HostStatus::Errored => "errored",
            HostStatus::Pending => "pending",
            HostStatus::Missing => "not_answered",
        }
    }

    /// Parses a [`HostStatus::code`].
    pub fn from_code(s: &str) -> Option<HostStatus> {
        HostStatus::ALL.into_iter().find(|h| h.code() == s)
    }

    /// The name shown.
    pub fn as_str(self) -> &'static str {
        match self {
            HostStatus::Affected => "affected",
            HostStatus::Clean => "clean",
            HostStatus::Fixed => "fixed",
            HostStatus::Incomplete => "incomplete",
            HostStatus::Errored => "errored",
            HostStatus::Pending => "pending",
            HostStatus::Missing => "not reported by deadline",
        }
    }
}

/// One host's line in a directive's roll-up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectiveHost {
    /// Host id.
    pub host_id: i64,
    /// Host name.
    pub host_name: String,
    /// Its status.
    pub status: HostStatus,
    /// Its latest run for the directive.
    pub run_pk: Option<i64>,
    /// Findings in that run.
    pub findings: i64,
    /// Whether an earlier run for the directive had findings and the latest has none and
    /// is complete.
    pub fixed: bool,
    /// When it last answered.
    pub answered: Option<DateTime<Utc>>,
    /// The agent's message (errors).
    pub message: Option<String>,
}

/// A status change at a point in time, for the chart over time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatusEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Which host.
    pub host_id: i64,
    /// Its new status.
    pub status: HostStatus,
}

/// A directive's roll-up in one organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectiveStatus {
    /// The directive.
    pub directive: Directive,
    /// Every host of the organisation, sorted by status then name.
    pub hosts: Vec<DirectiveHost>,
    /// Answers in time order.
    pub events: Vec<StatusEvent>,
}

impl DirectiveStatus {
    /// Hosts per status.
    pub fn counts(&self) -> std::collections::BTreeMap<HostStatus, usize> {
        let mut m: std::collections::BTreeMap<HostStatus, usize> =
            HostStatus::ALL.iter().map(|s| (*s, 0)).collect();
        for h in &self.hosts {
            *m.entry(h.status).or_default() += 1;
        }
        m
    }
}

// Directive roll-up at scale (fleet-ui): counts in SQL, keyset pages, export rows.

/// One host's line in a directive's roll-up, as a page of the dashboard and the export
/// give it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RollupRow {
    /// Host id.
    pub host_id: i64,
    /// Host name.
    pub host_name: String,
    /// The host's organisation.
    pub org_id: i64,
    /// Its status (pending or not answered by the deadline when it has not answered).
    pub status: HostStatus,
    /// Findings in its latest run for the directive.
    pub findings: i64,
    /// When its answer (latest run, or the agent's error) arrived.
    pub answered: Option<DateTime<Utc>>,
    /// Database id of its latest run for the directive.
    pub run_pk: Option<i64>,
    /// The report's run id of that run (or the one the agent named).
    pub run_id: Option<String>,
    /// The command's exit code, as the agent reported it.
    pub exit_code: Option<i64>,
    /// The agent's message.
    pub message: Option<String>,
    /// For a `check` run: campaign → verdict (`affected`, `not_found`, `unknown`).
    pub verdicts: std::collections::BTreeMap<String, String>,
}

/// Where a page of a roll-up starts: after this host (in host name, then id, order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollupCursor {
    /// The last host name of the previous page.
    pub host_name: String,
    /// The last host id of the previous page.
    pub host_id: i64,
}

/// Which part of a roll-up to list. Every value is bound, never spliced.
#[derive(Clone, Debug, Default)]
pub struct RollupQuery {
    /// Only hosts with this status.
    pub status: Option<HostStatus>,
    /// Host name contains this (case-insensitive; `%`, `_` and `\` are literal).
    pub name: Option<String>,
    /// Start after this host.
    pub after: Option<RollupCursor>,
    /// Most rows returned (clamped to 1..=1000).
    pub limit: i64,
}

/// A directive's roll-up in one organisation, counted in SQL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RollupSummary {
    /// Hosts of the organisation.
    pub hosts: i64,
    /// Hosts per status, every status present (zero included).
    pub counts: std::collections::BTreeMap<HostStatus, i64>,
    /// The chart over time: for each time bucket (its end), the hosts that had answered by
    /// then, by their current status, and `Pending` for the hosts silent then.
    pub over_time: Vec<(DateTime<Utc>, std::collections::BTreeMap<HostStatus, i64>)>,
}
