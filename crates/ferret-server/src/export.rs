//! A directive's roll-up export: every host the directive applies to, one row each, as CSV
//! or JSON. This is the report a coordinator sends upward.
//!
//! Two doors, one writer: `GET /api/v1/admin/directives/{id}/export?format=json|csv` (admin
//! token; every organisation the directive applies to) and the dashboard's
//! `/o/{org}/directives/{id}/export?format=…` (session; that organisation only, 404
//! otherwise).
//!
//! Columns: `host_id, host, org, status, findings, answered, run_id, exit_code, message,
//! verdicts`. `status` is one of `affected`, `clean`, `fixed`, `incomplete`, `errored`,
//! `pending`, `not_answered` ([`ferret_store::HostStatus::code`]); `answered` is RFC 3339 or empty;
//! `verdicts` holds a `check` run's campaign verdicts (`campaign=verdict;…` in CSV, an
//! object campaign → verdict in JSON). CSV has a header row, RFC 4180 quoting, and every
//! text cell escaped and defused against spreadsheet formulas like `ferret … --format csv`
//! ([`ferret_report::csv::cell`]). JSON is `{"directive": {…}, "generated": T, "counts":
//! {status: n}, "hosts": [{…}, …]}`.
//!
//! The body is streamed: rows are read from the store in keyset pages of [`PAGE`] hosts and
//! each page is rendered into one chunk, so a 100,000-host export never holds more than a
//! page in memory. The counts come first, from the store's SQL counts.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use ferret_store::{Directive, HostStatus, RollupCursor, RollupQuery, RollupRow, Store};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth;
use crate::error::ApiError;

/// Hosts read from the store and rendered per chunk of the body.
pub const PAGE: i64 = 1000;

/// The CSV header row.
pub const CSV_HEADER: [&str; 10] = [
    "host_id",
    "host",
    "org",
    "status",
    "findings",
    "answered",
    "run_id",
    "exit_code",
    "message",
    "verdicts",
];

/// An export's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/csv`.
    Csv,
    /// `application/json`.
    Json,
}

/// The export's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    /// `json` (the default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

impl ExportQuery {
    /// The format asked for; 400 for anything but `json` or `csv`.
    pub fn format(&self) -> Result<Format, ApiError> {
        match self.format.as_deref() {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(ApiError::BadRequest("format must be json or csv".into())),
        }
    }
}

/// `GET /api/v1/admin/directives/{id}/export`: every organisation the directive applies to.
pub(crate) async fn admin_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    auth::admin(&state, &headers).await?;
    let format = q.format()?;
    let directive = state.store.get_directive_any(id).await?.ok_or(ApiError::NotFound)?;
    let scope: Vec<(i64, String)> = state
        .store
        .list_orgs()
        .await?
        .into_iter()
        .filter(|o| directive.orgs.contains(&o.id))
        .map(|o| (o.id, o.name))
        .collect();
    export(&state, &directive, scope, format, Utc::now()).await
}

/// The export of `directive` over the organisations in `scope` (id, name), already
/// authorised by the caller.
pub(crate) async fn export(
    state: &AppState,
    directive: &Directive,
    mut scope: Vec<(i64, String)>,
    format: Format,
    now: DateTime<Utc>,
) -> Result<Response, ApiError> {
    scope.sort();
    let mut counts: BTreeMap<HostStatus, i64> = HostStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for (org, _) in &scope {
        let s = state
            .store
            .rollup_summary(*org, directive.id, now, 1)
            .await?
            .ok_or(ApiError::NotFound)?;
        for (st, n) in s.counts {
            *counts.entry(st).or_default() += n;
        }
    }
    let head = match format {
        Format::Csv => {
            let mut out = Vec::new();
            ferret_report::csv::append_record(&mut out, &CSV_HEADER)
                .map_err(|_| ApiError::Internal("csv header"))?;
            out
        }
        Format::Json => json_head(directive, &scope, &counts, now)?,
    };
    let stream = Export {
        store: Arc::clone(&state.store),
        directive: directive.id,
        orgs: scope.into_iter().collect(),
        cursor: None,
        now,
        format,
        rows_written: 0,
        head: Some(head),
        finished: false,
    };
    let body = Body::from_stream(futures_util::stream::unfold(stream, Export::next_chunk));
    let (ctype, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"directive-{}-{}.{ext}\"",
        directive.id,
        now.format("%Y%m%dT%H%M%SZ")
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[derive(Serialize)]
struct OrgRef<'a> {
    id: i64,
    name: &'a str,
}

#[derive(Serialize)]
struct DirectiveRef<'a> {
    id: i64,
    name: &'a str,
    created: DateTime<Utc>,
    deadline: DateTime<Utc>,
    orgs: Vec<OrgRef<'a>>,
}

/// `{"directive": …, "generated": …, "counts": …, "hosts": [` (the rows and `]}` follow).
fn json_head(
    d: &Directive,
    scope: &[(i64, String)],
    counts: &BTreeMap<HostStatus, i64>,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, ApiError> {
    let directive = DirectiveRef {
        id: d.id,
        name: &d.name,
        created: d.created,
        deadline: d.deadline,
        orgs: scope.iter().map(|(id, name)| OrgRef { id: *id, name }).collect(),
    };
    let counts: BTreeMap<&str, i64> = counts.iter().map(|(s, n)| (s.code(), *n)).collect();
    let piece = |v: serde_json::Result<Vec<u8>>| v.map_err(|_| ApiError::Internal("json export"));
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"{\"directive\":");
    out.extend_from_slice(&piece(serde_json::to_vec(&directive))?);
    out.extend_from_slice(b",\"generated\":");
    out.extend_from_slice(&piece(serde_json::to_vec(&now))?);
    out.extend_from_slice(b",\"counts\":");
    out.extend_from_slice(&piece(serde_json::to_vec(&counts))?);
    out.extend_from_slice(b",\"hosts\":[");
    Ok(out)
}

/// One exported host in JSON.
#[derive(Serialize)]
struct JsonRow<'a> {
    host_id: i64,
    host: &'a str,
    org: &'a str,
    status: &'static str,
    findings: i64,
    answered: Option<DateTime<Utc>>,
    run_id: Option<&'a str>,
    exit_code: Option<i64>,
    message: Option<&'a str>,
    verdicts: &'a BTreeMap<String, String>,
}

/// The body's state between chunks.
struct Export {
    store: Arc<dyn Store>,
    directive: i64,
    /// Organisations still to export, (id, name), in id order; the first is under way.
    orgs: VecDeque<(i64, String)>,
    cursor: Option<RollupCursor>,
    now: DateTime<Utc>,
    format: Format,
    rows_written: u64,
    head: Option<Vec<u8>>,
    finished: bool,
}

impl Export {
    /// The next chunk of the body: the head, then one page of rows at a time, then the
    /// JSON tail. A store failure ends the body early (the client sees a cut transfer,
    /// never a short file that looks complete).
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::io::Error>, Export)> {
        if let Some(head) = self.head.take() {
            return Some((Ok(Bytes::from(head)), self));
        }
        loop {
            if self.finished {
                return None;
            }
            let Some((org, org_name)) = self.orgs.front().cloned() else {
                self.finished = true;
                return match self.format {
                    Format::Json => Some((Ok(Bytes::from_static(b"]}\n")), self)),
                    Format::Csv => None,
                };
            };
            let q = RollupQuery { after: self.cursor.clone(), limit: PAGE, ..Default::default() };
            let rows = match self.store.rollup_page(org, self.directive, &q, self.now).await {
                Ok(Some(rows)) => rows,
                Ok(None) => Vec::new(),
                Err(e) => {
                    self.finished = true;
                    return Some((Err(std::io::Error::other(e.to_string())), self));
                }
            };
            if i64::try_from(rows.len()).unwrap_or(0) < PAGE {
                self.orgs.pop_front();
                self.cursor = None;
            } else if let Some(last) = rows.last() {
                self.cursor =
                    Some(RollupCursor { host_name: last.host_name.clone(), host_id: last.host_id });
            }
            if rows.is_empty() {
                continue;
            }
            let chunk = match self.render(&rows, &org_name) {
                Ok(c) => c,
                Err(e) => {
                    self.finished = true;
                    return Some((Err(e), self));
                }
            };
            return Some((Ok(Bytes::from(chunk)), self));
        }
    }

    fn render(&mut self, rows: &[RollupRow], org: &str) -> Result<Vec<u8>, std::io::Error> {
        let mut out = Vec::with_capacity(rows.len() * 128);
        for r in rows {
            match self.format {
                Format::Csv => csv_row(&mut out, r, org)?,
                Format::Json => {
                    if self.rows_written > 0 {
                        out.push(b',');
                    }
                    let row = JsonRow {
                        host_id: r.host_id,
                        host: &r.host_name,
                        org,
                        status: r.status.code(),
                        findings: r.findings,
                        answered: r.answered,
                        run_id: r.run_id.as_deref(),
                        exit_code: r.exit_code,
                        message: r.message.as_deref(),
                        verdicts: &r.verdicts,
                    };
                    serde_json::to_writer(&mut out, &row).map_err(std::io::Error::other)?;
                }
            }
            self.rows_written += 1;
        }
        Ok(out)
    }
}

/// One CSV row: numbers and fixed words as they are, text from outside through
/// [`ferret_report::csv::cell`].
fn csv_row(out: &mut Vec<u8>, r: &RollupRow, org: &str) -> std::io::Result<()> {
    use ferret_report::csv::cell;
    let verdicts = r.verdicts.iter().map(|(c, v)| format!("{c}={v}")).collect::<Vec<_>>().join(";");
    let host_id = r.host_id.to_string();
    let findings = r.findings.to_string();
    let answered = r.answered.map(|t| t.to_rfc3339()).unwrap_or_default();
    let exit_code = r.exit_code.map(|c| c.to_string()).unwrap_or_default();
    let host = cell(&r.host_name);
    let org = cell(org);
    let run_id = cell(r.run_id.as_deref().unwrap_or(""));
    let message = cell(r.message.as_deref().unwrap_or(""));
    let verdicts = cell(&verdicts);
    ferret_report::csv::append_record(
        out,
        &[
            &host_id,
            &host,
            &org,
            r.status.code(),
            &findings,
            &answered,
            &run_id,
            &exit_code,
            &message,
            &verdicts,
        ],
    )
}
