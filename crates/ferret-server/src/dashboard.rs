//! The dashboard: server-rendered HTML (maud templates), no script, inline SVG charts.
//!
//! Pages: login; an organisation's overview (directives, hosts, recent runs); a directive's
//! roll-up (counts per status and a chart over time, computed in SQL; the hosts 100 a page in
//! keyset order, filtered by status and host name; links to the CSV and JSON exports of
//! [`crate::export`]; a `server-timing` header); a host (runs, findings, before/after); a run
//! (the same rendering as `ferret … --format html`); a finding (its evidence); a findings
//! search by rule, severity and host.
//!
//! Forms of an organisation's admin: create an enrolment secret (shown once), add a user
//! (new or existing) with a role. Creating an organisation is the collector admin's act
//! (admin token), not a dashboard form.
//!
//! Access: a session cookie (HttpOnly, SameSite=Strict, Secure) from a login with an
//! Argon2-checked password; a page of an organisation needs a role in it (otherwise 404);
//! every POST form carries the session's CSRF token (the login form a double-submit one),
//! checked before the role (a viewer's POST is 403, another organisation's 404).
//! Every string from hosts goes through `ferret_core::text::escape` and maud's HTML escaping.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use ferret_core::Severity;
use ferret_core::text::escape;
use ferret_report::html as view;
use ferret_store::{
    FindingFilter, HostStatus, Role, RollupCursor, RollupQuery, RollupSummary, Session, hash_token,
};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::error::ApiError;

/// How long a login lasts.
const SESSION_HOURS: i64 = 12;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/o/{org}", get(org_page))
        .route("/o/{org}/secrets", post(new_secret))
        .route("/o/{org}/directives/{id}", get(directive_page))
        .route("/o/{org}/directives/{id}/export", get(directive_export))
        .route("/o/{org}/users", post(add_user))
        .route("/o/{org}/directives", post(publish_directive))
        .route("/o/{org}/directives/{id}/close", post(close_directive))
        .route("/o/{org}/hosts/{id}", get(host_page))
        .route("/o/{org}/runs/{id}", get(run_page))
        .route("/o/{org}/findings", get(findings_page))
        .route("/o/{org}/findings/{id}", get(finding_page))
}

/// A dashboard failure: go and log in, or an error page.
pub(crate) enum PageError {
    Login,
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<ferret_store::StoreError> for PageError {
    fn from(e: ferret_store::StoreError) -> Self {
        PageError::Api(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login => Redirect::to("/login").into_response(),
            PageError::Api(e) => {
                let status = e.status();
                let body = layout(
                    status.canonical_reason().unwrap_or("error"),
                    None,
                    &html! { h1 { (status.as_u16()) " " (e.to_string()) } p { a href="/" { "Back" } } },
                );
                (status, body).into_response()
            }
        }
    }
}

type PageResult = Result<Response, PageError>;

fn layout(title: &str, session: Option<&Session>, body: &Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="referrer" content="no-referrer";
                    title { (title) " — ferret" }
                    style { (PreEscaped(view::STYLE)) }
                }
                body {
                    header.top {
                        a href="/" { b { "ferret collector" } }
                        @if let Some(s) = session {
                            span { "signed in as " (escape(&s.user_name)) }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                    main { (*body) }
                }
            }
        }
        .into_string(),
    )
}

fn no_store(mut resp: Response) -> Response {
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    resp.headers_mut().insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

async fn require_session(state: &AppState, headers: &HeaderMap) -> Result<Session, PageError> {
    match auth::session(state, headers).await? {
        Some((_, s)) => Ok(s),
        None => Err(PageError::Login),
    }
}

/// The session and the user's role in `org`; 404 when the user has none.
async fn member(
    state: &AppState,
    headers: &HeaderMap,
    org: i64,
) -> Result<(Session, ferret_store::Org, Role), PageError> {
    let s = require_session(state, headers).await?;
    let roles = state.store.user_roles(s.user_id).await?;
    let (o, role) = roles.into_iter().find(|(o, _)| o.id == org).ok_or(ApiError::NotFound)?;
    Ok((s, o, role))
}

fn check_csrf(session: &Session, given: &str) -> Result<(), PageError> {
    if auth::constant_time_eq(&session.csrf, given) {
        Ok(())
    } else {
        Err(PageError::Api(ApiError::Forbidden))
    }
}

async fn home(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    let s = require_session(&state, &headers).await?;
    let roles = state.store.user_roles(s.user_id).await?;
    if let [(o, _)] = roles.as_slice() {
        return Ok(Redirect::to(&format!("/o/{}", o.id)).into_response());
    }
    let body = html! {
        h1 { "Organisations" }
        @if roles.is_empty() { p { "You have no role in any organisation." } }
        ul { @for (o, r) in &roles { li { a href={ "/o/" (o.id) } { (escape(&o.name)) } " (" (r.as_str()) ")" } } }
    };
    Ok(no_store(layout("Organisations", Some(&s), &body).into_response()))
}

fn login_page(status: StatusCode, message: Option<&str>, state: &AppState) -> Response {
    let csrf = match auth::new_token() {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    let body = html! {
        h1 { "Sign in" }
        @if let Some(m) = message { p.bad { (m) } }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(csrf);
            p { label { "User " input type="text" name="user" autocomplete="username" required; } }
            p { label { "Password " input type="password" name="password" autocomplete="current-password" required; } }
            p { button type="submit" { "Sign in" } }
        }
    };
    let mut resp = (status, layout("Sign in", None, &body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, 3600)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    no_store(resp)
}

async fn login_form(State(state): State<AppState>) -> Response {
    login_page(StatusCode::OK, None, &state)
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    user: String,
    password: String,
    csrf: String,
}

/// The sign-in page answered 429 with `retry-after` (whole seconds, rounded up).
fn locked_out(state: &AppState, wait: std::time::Duration) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let minutes = secs.div_ceil(60).max(1);
    let message = format!("Too many failed sign-ins; try again in {minutes} minute(s).");
    let mut resp = login_page(StatusCode::TOO_MANY_REQUESTS, Some(&message), state);
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    resp
}

/// A sign-in. Failed attempts are limited per client address and per user name
/// ([`crate::limit::LoginLimiter`]); a locked client or name is answered 429 with
/// `retry-after`.
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let cookie_csrf = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if cookie_csrf.is_empty() || !auth::constant_time_eq(cookie_csrf, &form.csrf) {
        return Ok(login_page(StatusCode::FORBIDDEN, Some("The form expired; try again."), &state));
    }
    // Counted before the password is checked; a locked client or name costs no Argon2.
    let limiter = extensions.get::<std::sync::Arc<crate::limit::LoginLimiter>>();
    let client =
        extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
    if let Some(l) = limiter
        && let Err(wait) = l.begin(client, &form.user, std::time::Instant::now())
    {
        return Ok(locked_out(&state, wait));
    }
    let user = state.store.user_by_name(&form.user).await?;
    let ok = if let Some(u) = &user {
        let (pw, phc) = (form.password.clone(), u.password_hash.clone());
        tokio::task::spawn_blocking(move || auth::verify_password(&pw, &phc)).await.unwrap_or(false)
    } else {
        {
            // Spend the same effort for an unknown user.
            let pw = form.password.clone();
            let _ = tokio::task::spawn_blocking(move || auth::hash_password(&pw)).await;
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        return Ok(login_page(StatusCode::UNAUTHORIZED, Some("Wrong user or password."), &state));
    };
    if let Some(l) = limiter {
        l.succeeded(client, &form.user);
    }
    // Expired sessions go at every sign-in too, besides the collector's periodic sweep.
    state.store.delete_expired_sessions(Utc::now()).await?;
    let token = auth::new_token()?;
    let csrf = auth::new_token()?;
    state
        .store
        .create_session(
            &hash_token(&token),
            user.id,
            &csrf,
            Utc::now() + Duration::hours(SESSION_HOURS),
        )
        .await?;
    let mut resp = Redirect::to("/").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    let cookie = auth::set_cookie(&state, SESSION_COOKIE, &token, SESSION_HOURS * 3600);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let Some((token, s)) = auth::session(&state, &headers).await? else {
        return Err(PageError::Login);
    };
    check_csrf(&s, &form.csrf)?;
    state.store.delete_session(&hash_token(&token)).await?;
    let mut resp = Redirect::to("/login").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&state, SESSION_COOKIE, "", 0)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

fn class_of(s: HostStatus) -> &'static str {
    match s {
        HostStatus::Affected => "affected",
        HostStatus::Clean => "clean",
        HostStatus::Fixed => "fixed",
        HostStatus::Incomplete => "incomplete",
        HostStatus::Errored => "errored",
        HostStatus::Pending => "pending",
        HostStatus::Missing => "missing",
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct HostQuery {
    #[serde(default)]
    host: Option<String>,
}

async fn org_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
    Query(q): Query<HostQuery>,
) -> PageResult {
    let (s, o, role) = member(&state, &headers, org).await?;
    let directives = state.store.list_directives(org).await?;
    let hosts = state.store.list_hosts(org, q.host.as_deref()).await?;
    let runs = state.store.list_runs(org, None, 25).await?;
    let body = html! {
        h1 { (escape(&o.name)) }
        p { a href={ "/o/" (org) "/findings" } { "Search findings" } }
        h2 { "Directives" }
        @if directives.is_empty() { p { "No directive applies to this organisation." } }
        table {
            tr { th { "name" } th { "runs" } th { "deadline" } }
            @for d in &directives {
                tr {
                    td { a href={ "/o/" (org) "/directives/" (d.id) } { (escape(&d.name)) } }
                    td.mono { (escape(&d.command)) }
                    td { (d.deadline.to_rfc3339()) }
                }
            }
        }
        h2 { "Hosts (" (hosts.len()) ")" }
        form.filters method="get" action={ "/o/" (org) } {
            input type="text" name="host" placeholder="host name contains" value=(q.host.clone().unwrap_or_default());
            button type="submit" { "Filter" }
        }
        table {
            tr { th { "host" } th { "enrolled" } th { "last report" } }
            @for h in hosts.iter().take(500) {
                tr {
                    td { a href={ "/o/" (org) "/hosts/" (h.id) } { (escape(&h.name)) } }
                    td { (h.enrolled.to_rfc3339()) }
                    td { (h.last_seen.map_or_else(|| "never".into(), |t| t.to_rfc3339())) }
                }
            }
        }
        @if hosts.len() > 500 { p { "Showing 500 of " (hosts.len()) "; filter by name to narrow." } }
        h2 { "Recent runs" }
        (runs_table(org, &runs))
        @if role == Role::Admin {
            h2 { "Administration" }
            h3 { "Enrolment" }
            form method="post" action={ "/o/" (org) "/secrets" } {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Create an enrolment secret" }
            }
            h3 { "Add a user" }
            form.admin method="post" action={ "/o/" (org) "/users" } {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { "User " input type="text" name="name" autocomplete="off" required; } }
                p { label { "Password (at least 10 characters; ignored for an existing user) "
                    input type="password" name="password" autocomplete="new-password"; } }
                p { label { "Role " select name="role" {
                    option value="viewer" { "viewer" } option value="admin" { "admin" } } } }
                p { button type="submit" { "Add the user" } }
            }
            h3 { "Publish a signed directive" }
            form.publish method="post" action={ "/o/" (org) "/directives" } {
                input type="hidden" name="csrf" value=(s.csrf);
                p { label { "Paste the envelope written by "
                    code { "ferret admin directive sign" } " (the organisations come from the signed document; you must be an admin of each)"
                    br;
                    textarea name="envelope" rows="8" cols="100" spellcheck="false" required {} } }
                p { button type="submit" { "Publish the directive" } }
            }
        }
    };
    Ok(no_store(layout(&o.name, Some(&s), &body).into_response()))
}

/// Whether the user is an admin of every organisation in `orgs`.
async fn admin_of_all(
    state: &AppState,
    session: &Session,
    orgs: &[i64],
) -> Result<bool, PageError> {
    let roles = state.store.user_roles(session.user_id).await?;
    Ok(orgs.iter().all(|o| roles.iter().any(|(r, role)| r.id == *o && *role == Role::Admin)))
}

#[derive(Deserialize)]
pub(crate) struct PublishForm {
    csrf: String,
    envelope: String,
}

/// An organisation admin publishes a directive by pasting its signed envelope. The
/// collector checks it like the API does ([`crate::api::publish_directive`]); the user must
/// be an admin of every organisation the signed document names.
async fn publish_directive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
    Form(form): Form<PublishForm>,
) -> PageResult {
    let (s, _o, role) = member(&state, &headers, org).await?;
    check_csrf(&s, &form.csrf)?;
    if role != Role::Admin {
        return Err(ApiError::Forbidden.into());
    }
    let envelope: ferret_core::directive::Envelope = serde_json::from_str(form.envelope.trim())
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "not an envelope written by `ferret admin directive sign`: {e}"
            ))
        })?;
    let doc = ferret_core::directive::Document::parse(&envelope.document)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if !admin_of_all(&state, &s, &doc.orgs).await? {
        return Err(ApiError::Forbidden.into());
    }
    let d = crate::api::publish_directive(&state, envelope).await?;
    let body = html! {
        h1 { "Published: " (escape(&d.name)) }
        p.ok { "The signed directive is stored; agents of its organisations fetch it at their next poll." }
        table {
            tr { th { "runs" } td.mono { "ferret " (escape(&d.command)) } }
            tr { th { "deadline" } td { (d.deadline.to_rfc3339()) } }
        }
        @if d.orgs.contains(&org) {
            p { a href={ "/o/" (org) "/directives/" (d.id) } { "Open the directive" } }
        }
        p { a href={ "/o/" (org) } { "Back" } }
    };
    Ok(no_store(layout("Directive published", Some(&s), &body).into_response()))
}

/// An admin of every organisation a directive applies to closes it: agents are no longer
/// served it (its roll-up stays).
async fn close_directive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, id)): Path<(i64, i64)>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let (s, _o, role) = member(&state, &headers, org).await?;
    check_csrf(&s, &form.csrf)?;
    let d = state.store.get_directive(org, id).await?.ok_or(ApiError::NotFound)?;
    if role != Role::Admin || !admin_of_all(&state, &s, &d.orgs).await? {
        return Err(ApiError::Forbidden.into());
    }
    state.store.close_directive(id, Utc::now()).await?;
    let mut resp = Redirect::to(&format!("/o/{org}/directives/{id}")).into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    Ok(resp)
}

fn runs_table(org: i64, runs: &[ferret_store::Run]) -> Markup {
    html! {
        table {
            tr { th { "finished" } th { "host" } th { "verb" } th { "findings" } th { "worst" } th { "coverage" } th { "ferret" } }
            @for r in runs {
                tr {
                    td { a href={ "/o/" (org) "/runs/" (r.id) } { (r.finished.to_rfc3339()) } }
                    td { a href={ "/o/" (org) "/hosts/" (r.host_id) } { (escape(&r.host_name)) } }
                    td { (escape(&r.verb)) }
                    td class=(if r.findings > 0 { "bad" } else { "ok" }) { (r.findings) }
                    td { @if let Some(sev) = r.max_severity { span class={ "sev sev-" (sev.as_str()) } { (sev.as_str()) } } }
                    td { @if r.complete { span.ok { "complete" } } @else { span.warn { "incomplete" } } }
                    td { (escape(&r.tool_version)) }
                }
            }
        }
    }
}

async fn new_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let (s, o, role) = member(&state, &headers, org).await?;
    check_csrf(&s, &form.csrf)?;
    if role != Role::Admin {
        return Err(ApiError::Forbidden.into());
    }
    let secret = auth::new_token()?;
    state.store.add_enrolment_secret(org, &hash_token(&secret)).await?;
    let body = html! {
        h1 { "New enrolment secret for " (escape(&o.name)) }
        p { "Shown once. Enrol a host with:" }
        pre.mono { "ferret enroll URL --secret " (secret) }
        p { a href={ "/o/" (org) } { "Back" } }
    };
    Ok(no_store(layout("Enrolment secret", Some(&s), &body).into_response()))
}

#[derive(Deserialize)]
pub(crate) struct UserForm {
    csrf: String,
    name: String,
    #[serde(default)]
    password: String,
    role: String,
}

/// An organisation admin adds a user (new, or existing by name) to the organisation with
/// a role. Roles elsewhere and an existing user's password are untouched.
async fn add_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
    Form(form): Form<UserForm>,
) -> PageResult {
    let (s, o, role) = member(&state, &headers, org).await?;
    check_csrf(&s, &form.csrf)?;
    if role != Role::Admin {
        return Err(ApiError::Forbidden.into());
    }
    let wanted = Role::parse(&form.role)
        .ok_or_else(|| ApiError::BadRequest("role must be admin or viewer".into()))?;
    let (user, created) =
        crate::api::add_user_to_org(&state, &form.name, &form.password, org, wanted).await?;
    let body = html! {
        h1 { "User " (escape(&user.name)) }
        p.ok {
            @if created { "Created and added to " } @else { "Added to " }
            (escape(&o.name)) " as " (wanted.as_str()) "."
        }
        p { a href={ "/o/" (org) } { "Back" } }
    };
    Ok(no_store(layout("User added", Some(&s), &body).into_response()))
}

/// Hosts shown per page of a directive.
pub const DIRECTIVE_PAGE_HOSTS: i64 = 100;

/// The directive page's query string: status, host name, and where the page starts.
#[derive(Deserialize, Default)]
pub(crate) struct RollupParams {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    after_id: Option<i64>,
}

/// The chart's columns: per time bucket, the hosts that had answered by then by their
/// current status, and the hosts still silent.
fn chart_columns(summary: &RollupSummary) -> Vec<(String, Vec<u64>)> {
    let span = match (summary.over_time.first(), summary.over_time.last()) {
        (Some(a), Some(b)) => (b.0 - a.0).num_milliseconds(),
        _ => 0,
    };
    summary
        .over_time
        .iter()
        .map(|(end, col)| {
            let get = |s| u64::try_from(col.get(&s).copied().unwrap_or(0)).unwrap_or(0);
            let label = if span < 86_400_000 {
                end.format("%H:%M").to_string()
            } else {
                end.format("%m-%d").to_string()
            };
            let values = vec![
                get(HostStatus::Affected),
                get(HostStatus::Fixed),
                get(HostStatus::Clean),
                get(HostStatus::Incomplete),
                get(HostStatus::Errored),
                get(HostStatus::Pending),
            ];
            (label, values)
        })
        .collect()
}

/// `%XX`-encodes everything but unreserved characters, for a query-string value.
fn query_value(s: &str) -> String {
    s.bytes().fold(String::with_capacity(s.len()), |mut out, b| {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            use std::fmt::Write as _;
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// A link to the directive page with a status and host filter (and a page start).
fn rollup_link(
    org: i64,
    id: i64,
    status: Option<HostStatus>,
    host: Option<&str>,
    after: Option<&RollupCursor>,
) -> String {
    let mut url = format!("/o/{org}/directives/{id}?");
    if let Some(st) = status {
        url.push_str("status=");
        url.push_str(st.code());
        url.push('&');
    }
    if let Some(h) = host.filter(|h| !h.is_empty()) {
        url.push_str("host=");
        url.push_str(&query_value(h));
        url.push('&');
    }
    if let Some(c) = after {
        url.push_str(&format!("after={}&after_id={}&", query_value(&c.host_name), c.host_id));
    }
    url.pop();
    url
}

async fn directive_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, id)): Path<(i64, i64)>,
    Query(q): Query<RollupParams>,
) -> PageResult {
    let began = std::time::Instant::now();
    let (s, _o, role) = member(&state, &headers, org).await?;
    let status = match q.status.as_deref().filter(|v| !v.is_empty()) {
        Some(code) => Some(
            HostStatus::from_code(code)
                .ok_or_else(|| ApiError::BadRequest(format!("unknown status {code:?}")))?,
        ),
        None => None,
    };
    let host = q.host.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let after = match (&q.after, q.after_id) {
        (Some(name), Some(host_id)) => Some(RollupCursor { host_name: name.clone(), host_id }),
        _ => None,
    };
    let now = Utc::now();
    let d = state.store.get_directive(org, id).await?.ok_or(ApiError::NotFound)?;
    let summary = state.store.rollup_summary(org, id, now, 8).await?.ok_or(ApiError::NotFound)?;
    let query = RollupQuery {
        status,
        name: host.map(str::to_owned),
        after: after.clone(),
        limit: DIRECTIVE_PAGE_HOSTS,
    };
    let rows = state.store.rollup_page(org, id, &query, now).await?.ok_or(ApiError::NotFound)?;
    let store_ms = began.elapsed().as_secs_f64() * 1000.0;
    let columns = chart_columns(&summary);
    let chart = view::stacked_columns(
        "hosts by status over time",
        &columns,
        &["st-affected", "st-fixed", "st-clean", "st-incomplete", "st-errored", "st-pending"],
        &["affected", "fixed", "clean", "incomplete", "errored", "not answered"],
    );
    let next = (i64::try_from(rows.len()).unwrap_or(0) >= DIRECTIVE_PAGE_HOSTS)
        .then(|| rows.last())
        .flatten()
        .map(|r| RollupCursor { host_name: r.host_name.clone(), host_id: r.host_id });
    let fixed = summary.counts.get(&HostStatus::Fixed).copied().unwrap_or(0);
    let late = now > d.deadline;
    let can_close = role == Role::Admin && admin_of_all(&state, &s, &d.orgs).await?;
    let body = html! {
        h1 { "Directive: " (escape(&d.name)) }
        table {
            tr { th { "runs" } td.mono { "ferret " (escape(&d.command)) } }
            tr { th { "signature" } td {
                @match d.signature.as_deref().and_then(ferret_core::directive::signature_key_id) {
                    Some(key) => { "signed by directive key " span.mono { (escape(&key)) } " (hosts check it against the key they pinned)" }
                    None => { "unsigned (from before signed directives; agents refuse it)" }
                }
            } }
            tr { th { "published" } td { (d.created.to_rfc3339()) } }
            tr { th { "deadline" } td { (d.deadline.to_rfc3339()) @if late { " (passed)" } } }
            tr { th { "closed" } td { @if let Some(c) = d.closed { (c.to_rfc3339()) " (agents are no longer served it)" } @else { "no" } } }
            tr { th { "rule bundle" } td { @if let Some(b) = &d.bundle { (b.len()) " bytes" } @else { "none" } } }
        }
        @if can_close && d.closed.is_none() {
            form.close method="post" action={ "/o/" (org) "/directives/" (id) "/close" } {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { "Close the directive" }
                " (agents are no longer served it; its roll-up stays)"
            }
        }
        p.export {
            "Export every host's status: "
            a href={ "/o/" (org) "/directives/" (id) "/export?format=csv" } { "CSV" } " · "
            a href={ "/o/" (org) "/directives/" (id) "/export?format=json" } { "JSON" }
        }
        h2 { "Hosts by status (" (summary.hosts) ")" }
        div.cards {
            @for (st, n) in &summary.counts {
                @if *n > 0 || !matches!(st, HostStatus::Pending | HostStatus::Missing) {
                    div.card {
                        span.legend { span class={ "st-" (class_of(*st)) } {} }
                        a href=(rollup_link(org, id, Some(*st), None, None)) { (st.as_str()) " (" (n) ")" }
                    }
                }
            }
        }
        @if fixed > 0 { p.ok { (fixed) " host(s) fixed: affected before, clean now." } }
        (PreEscaped(chart))
        h2 id="hosts" { "Hosts" }
        form.filters method="get" action={ "/o/" (org) "/directives/" (id) } {
            select name="status" {
                option value="" { "any status" }
                @for st in HostStatus::ALL {
                    option value=(st.code()) selected[status == Some(st)] { (st.as_str()) }
                }
            }
            input type="text" name="host" placeholder="host name contains" value=(host.unwrap_or_default());
            button type="submit" { "Filter" }
        }
        p {
            (rows.len()) " host(s) on this page"
            @if let Some(st) = status { ", status " (st.as_str()) }
            @if let Some(h) = host { ", name contains \u{201c}" (escape(h)) "\u{201d}" }
            @if after.is_some() { " (continued)" }
            "."
        }
        table.rollup {
            tr { th { "host" } th { "status" } th { "findings" } th { "answered" } th { "note" } }
            @for h in &rows {
                tr {
                    td { a href={ "/o/" (org) "/hosts/" (h.host_id) } { (escape(&h.host_name)) } }
                    td { span.legend { span class={ "st-" (class_of(h.status)) } {} } (h.status.as_str()) }
                    td { @if let Some(r) = h.run_pk { a href={ "/o/" (org) "/runs/" (r) } { (h.findings) } } }
                    td { (h.answered.map(|t| t.to_rfc3339()).unwrap_or_default()) }
                    td {
                        @if h.status == HostStatus::Fixed { span.ok { "fixed (was affected)" } " " }
                        @for (c, v) in &h.verdicts { span.mono { (escape(c)) "=" (escape(v)) } " " }
                        @if let Some(m) = &h.message { (escape(m)) }
                    }
                }
            }
        }
        p.pages {
            @if after.is_some() {
                a href=(rollup_link(org, id, status, host, None)) { "\u{2190} first page" } " "
            }
            @if let Some(c) = &next {
                a rel="next" href=(rollup_link(org, id, status, host, Some(c))) { "next " (DIRECTIVE_PAGE_HOSTS) " \u{2192}" }
            }
        }
    };
    let mut resp = no_store(layout(&d.name, Some(&s), &body).into_response());
    let total_ms = began.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) =
        HeaderValue::from_str(&format!("store;dur={store_ms:.1}, total;dur={total_ms:.1}"))
    {
        resp.headers_mut().insert("server-timing", v);
    }
    Ok(resp)
}

async fn directive_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, id)): Path<(i64, i64)>,
    Query(q): Query<crate::export::ExportQuery>,
) -> PageResult {
    let (_s, o, _role) = member(&state, &headers, org).await?;
    let format = q.format()?;
    let d = state.store.get_directive(org, id).await?.ok_or(ApiError::NotFound)?;
    Ok(crate::export::export(&state, &d, vec![(o.id, o.name)], format, Utc::now()).await?)
}

async fn host_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, id)): Path<(i64, i64)>,
) -> PageResult {
    let (s, _o, _role) = member(&state, &headers, org).await?;
    let host = state.store.get_host(org, id).await?.ok_or(ApiError::NotFound)?;
    let runs = state.store.list_runs(org, Some(id), 200).await?;
    let findings = state
        .store
        .list_findings(org, &FindingFilter { host_id: Some(id), limit: 200, ..Default::default() })
        .await?;
    // Before/after: runs are newest first.
    let latest = runs.first();
    let earlier_affected = runs.iter().skip(1).find(|r| r.findings > 0);
    let body = html! {
        h1 { "Host " (escape(&host.name)) }
        table {
            tr { th { "enrolled" } td { (host.enrolled.to_rfc3339()) } }
            tr { th { "last report" } td { (host.last_seen.map_or_else(|| "never".into(), |t| t.to_rfc3339())) } }
        }
        h2 { "Before / after" }
        @match (latest, earlier_affected) {
            (None, _) => p { "No report yet." },
            (Some(l), Some(e)) if l.findings == 0 => p.ok {
                "Fixed: affected on " (e.finished.to_rfc3339()) " (" (e.findings) " findings), clean since "
                (l.finished.to_rfc3339()) "."
            },
            (Some(l), _) if l.findings > 0 => p.bad {
                "Affected: the latest run (" (l.finished.to_rfc3339()) ") has " (l.findings) " findings."
            },
            (Some(l), _) => p.ok { "Clean: the latest run (" (l.finished.to_rfc3339()) ") has no findings." },
        }
        h2 { "Runs" }
        (runs_table(org, &runs))
        h2 { "Findings" }
        (findings_table(org, &findings))
    };
    Ok(no_store(layout(&host.name, Some(&s), &body).into_response()))
}

fn findings_table(org: i64, rows: &[ferret_store::FindingRow]) -> Markup {
    html! {
        table {
            tr { th { "severity" } th { "rule" } th { "host" } th { "path" } th { "run" } }
            @for r in rows {
                @let f = &r.finding;
                tr {
                    td { span class={ "sev sev-" (f.severity.as_str()) } { (f.severity.as_str()) } }
                    td { a href={ "/o/" (org) "/findings/" (r.id) } { (escape(&f.rule.name)) } }
                    td { a href={ "/o/" (org) "/hosts/" (r.host_id) } { (escape(&r.host_name)) } }
                    td.mono { (f.path.as_ref().map(|p| escape(&p.lossy()).into_owned()).unwrap_or_default()) }
                    td { a href={ "/o/" (org) "/runs/" (r.run_pk) } { "run" } }
                }
            }
        }
    }
}

async fn run_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, id)): Path<(i64, i64)>,
) -> PageResult {
    let (s, _o, _role) = member(&state, &headers, org).await?;
    let report = state.store.run_report(org, id).await?.ok_or(ApiError::NotFound)?;
    let mut rows = state
        .store
        .list_findings(
            org,
            &FindingFilter { run_pk: Some(id), limit: 100_000, ..Default::default() },
        )
        .await?;
    rows.sort_by_key(|r| r.id);
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let link = |i: usize| match ids.get(i) {
        Some(fid) => format!("/o/{org}/findings/{fid}"),
        None => String::from("#"),
    };
    let body = view::run_body(&report, &link);
    Ok(no_store(layout("Run", Some(&s), &html! { (PreEscaped(body)) }).into_response()))
}

#[derive(Deserialize, Default)]
pub(crate) struct FindingQuery {
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

async fn findings_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
    Query(q): Query<FindingQuery>,
) -> PageResult {
    let (s, o, _role) = member(&state, &headers, org).await?;
    let min = q.severity.as_deref().and_then(Severity::parse);
    let page = q.page.unwrap_or(0).clamp(0, 1_000_000);
    let rows = state
        .store
        .list_findings(
            org,
            &FindingFilter {
                rule: q.rule.clone(),
                host: q.host.clone(),
                min_severity: min,
                limit: 200,
                offset: page * 200,
                ..Default::default()
            },
        )
        .await?;
    let body = html! {
        h1 { "Findings in " (escape(&o.name)) }
        form.filters method="get" action={ "/o/" (org) "/findings" } {
            input type="text" name="rule" placeholder="rule contains" value=(q.rule.clone().unwrap_or_default());
            select name="severity" {
                option value="" { "any severity" }
                @for sev in Severity::ALL.iter().rev() {
                    option value=(sev.as_str()) selected[min == Some(*sev)] { "≥ " (sev.as_str()) }
                }
            }
            input type="text" name="host" placeholder="host contains" value=(q.host.clone().unwrap_or_default());
            button type="submit" { "Search" }
        }
        p { (rows.len()) " finding(s) on this page." }
        (findings_table(org, &rows))
    };
    Ok(no_store(layout("Findings", Some(&s), &body).into_response()))
}

async fn finding_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((org, id)): Path<(i64, i64)>,
) -> PageResult {
    let (s, _o, _role) = member(&state, &headers, org).await?;
    let row = state.store.get_finding(org, id).await?.ok_or(ApiError::NotFound)?;
    let f = &row.finding;
    let body = html! {
        h1 { "Finding: " (escape(&f.rule.name)) }
        p {
            "On host " a href={ "/o/" (org) "/hosts/" (row.host_id) } { (escape(&row.host_name)) }
            ", in " a href={ "/o/" (org) "/runs/" (row.run_pk) } { "this run" } "."
        }
        (PreEscaped(view::finding_table(f)))
        h2 { "Evidence" }
        (PreEscaped(view::evidence_table(f)))
    };
    Ok(no_store(layout("Finding", Some(&s), &body).into_response()))
}
