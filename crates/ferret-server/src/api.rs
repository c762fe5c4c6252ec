//! The JSON API under `/api/v1`: administration (bearer admin token), enrolment, report
//! ingest and directives (bearer host token). Described in `openapi.json`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use ferret_core::directive::{self, Document, Envelope};
use ferret_store::{DirectiveOutcome, NewDirective, Role, hash_token};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth;
use crate::error::ApiError;

/// Header naming the directive a report answers.
pub const DIRECTIVE_HEADER: &str = "x-ferret-directive";

/// `POST /api/v1/admin/orgs` body.
#[derive(Debug, Deserialize)]
pub struct NewOrg {
    /// Unique name.
    pub name: String,
    /// The organisation's directive public key (minisign public key text), if known.
    #[serde(default)]
    pub directive_key: Option<String>,
}

/// An organisation and a fresh enrolment secret (shown once).
#[derive(Debug, Serialize)]
pub struct OrgCreated {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The enrolment secret hosts give to `POST /api/v1/enroll`.
    pub enrolment_secret: String,
    /// The id of the registered directive key, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directive_key_id: Option<String>,
}

pub(crate) async fn create_org(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<NewOrg>,
) -> Result<(StatusCode, Json<OrgCreated>), ApiError> {
    auth::admin(&state, &headers).await?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest("organisation name must be 1 to 200 bytes".into()));
    }
    let key = body.directive_key.as_deref().map(checked_public_key).transpose()?;
    let org = state.store.create_org(name).await?;
    let secret = auth::new_token()?;
    state.store.add_enrolment_secret(org.id, &hash_token(&secret)).await?;
    if let Some((key, _)) = &key {
        state.store.set_org_directive_key(org.id, Some(key)).await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(OrgCreated {
            id: org.id,
            name: org.name,
            enrolment_secret: secret,
            directive_key_id: key.map(|(_, id)| id),
        }),
    ))
}

pub(crate) async fn list_orgs(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ferret_store::Org>>, ApiError> {
    auth::admin(&state, &headers).await?;
    Ok(Json(state.store.list_orgs().await?))
}

pub(crate) async fn new_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    auth::admin(&state, &headers).await?;
    state.store.get_org(org).await?.ok_or(ApiError::NotFound)?;
    let secret = auth::new_token()?;
    state.store.add_enrolment_secret(org, &hash_token(&secret)).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "enrolment_secret": secret }))))
}

/// `POST /api/v1/admin/users` body.
#[derive(Debug, Deserialize)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Password (at least 10 characters).
    pub password: String,
    /// Organisation the role applies to.
    pub org_id: i64,
    /// `admin` or `viewer`.
    pub role: String,
}

pub(crate) async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    auth::admin(&state, &headers).await?;
    let role = Role::parse(&body.role)
        .ok_or_else(|| ApiError::BadRequest("role must be admin or viewer".into()))?;
    state.store.get_org(body.org_id).await?.ok_or(ApiError::NotFound)?;
    let (user, _) = add_user_to_org(&state, &body.name, &body.password, body.org_id, role).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": user.id }))))
}

/// Gives `name` a role in `org`, creating the user with `password` (at least 10
/// characters) when the name is new; an existing user keeps its password. Returns the user
/// and whether it was created. Shared by the API and the dashboard's form.
pub(crate) async fn add_user_to_org(
    state: &AppState,
    name: &str,
    password: &str,
    org: i64,
    role: Role,
) -> Result<(ferret_store::User, bool), ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest("user name must be 1 to 200 bytes".into()));
    }
    let (user, created) = if let Some(u) = state.store.user_by_name(name).await? {
        (u, false)
    } else {
        if password.chars().count() < 10 {
            return Err(ApiError::BadRequest("password must have at least 10 characters".into()));
        }
        let pw = password.to_owned();
        let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
            .await
            .map_err(|_| ApiError::Internal("password hashing failed"))??;
        (state.store.create_user(name, &phc).await?, true)
    };
    state.store.grant_role(user.id, org, role).await?;
    Ok((user, created))
}

/// A directive as agents are served it: the signed envelope verbatim. A directive stored
/// before signing existed has no envelope and carries its old `command`, which agents
/// refuse.
#[derive(Debug, Serialize)]
pub struct DirectiveView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Verb.
    pub verb: String,
    /// The signed document's exact text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// The signature's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Rule bundle, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_b64: Option<String>,
    /// The unsigned command of a directive from before signing (refused by agents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Deadline.
    pub deadline: DateTime<Utc>,
}

impl From<ferret_store::Directive> for DirectiveView {
    fn from(d: ferret_store::Directive) -> Self {
        let unsigned = d.document.is_none();
        DirectiveView {
            id: d.id,
            name: d.name,
            verb: d.verb,
            document: d.document,
            signature: d.signature,
            bundle_b64: d.bundle.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            command: unsigned.then_some(d.command),
            deadline: d.deadline,
        }
    }
}

/// A directive as administrators list it.
#[derive(Debug, Serialize)]
pub struct DirectiveSummary {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Verb.
    pub verb: String,
    /// One-line summary of what it runs.
    pub command: String,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// When it was published.
    pub created: DateTime<Utc>,
    /// When it was closed.
    pub closed: Option<DateTime<Utc>>,
    /// Organisations.
    pub orgs: Vec<i64>,
    /// Whether it is signed (an unsigned one is from before signing and is refused).
    pub signed: bool,
    /// SHA-256 of its bundle, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_sha256: Option<String>,
}

impl From<&ferret_store::Directive> for DirectiveSummary {
    fn from(d: &ferret_store::Directive) -> Self {
        DirectiveSummary {
            id: d.id,
            name: d.name.clone(),
            verb: d.verb.clone(),
            command: d.command.clone(),
            deadline: d.deadline,
            created: d.created,
            closed: d.closed,
            orgs: d.orgs.clone(),
            signed: d.document.is_some() && d.signature.is_some(),
            bundle_sha256: d.bundle.as_deref().map(directive::sha256_hex),
        }
    }
}

/// Publishes a signed directive: the one path by which the API and the dashboard's publish
/// form store a directive.
///
/// The collector is not the trust anchor (hosts check the signature against the key they
/// pinned), but it refuses mistakes early: the document must parse and pass the allow-lists,
/// the signature's trusted comment must be a directive comment naming this document's
/// SHA-256, the bundle must match the signed digest, every organisation must exist, and
/// where an organisation has registered a directive key, the signature must come from that
/// key (by key id). The envelope is stored verbatim.
pub async fn publish_directive(
    state: &AppState,
    envelope: Envelope,
) -> Result<ferret_store::Directive, ApiError> {
    let bad = |e: directive::DirectiveError| ApiError::BadRequest(e.to_string());
    let doc = Document::parse(&envelope.document).map_err(bad)?;
    let comment = directive::signature_trusted_comment(&envelope.signature).ok_or_else(|| {
        ApiError::BadRequest(
            "signature is not a minisign signature: sign with `ferret admin directive sign`".into(),
        )
    })?;
    directive::check_trusted_comment(comment, &envelope.document).map_err(bad)?;
    let signer = directive::signature_key_id(&envelope.signature)
        .ok_or_else(|| ApiError::BadRequest("signature has no readable key id".into()))?;
    let bundle = envelope.checked_bundle(&doc).map_err(bad)?;
    // Hosts refuse a directive past its signed deadline: refuse it here too, so it never
    // shows up as a fleet of errored hosts.
    if doc.deadline <= Utc::now() {
        return Err(ApiError::BadRequest(format!(
            "the signed deadline {} has passed: sign a new directive",
            doc.deadline.to_rfc3339()
        )));
    }
    // One publication per signed document: publishing the same envelope again (or a closed
    // directive's envelope) would make every host run it again under a new number.
    for old in state.store.list_all_directives().await? {
        let same = old
            .document
            .as_deref()
            .and_then(|t| Document::parse(t).ok())
            .is_some_and(|o| o.id == doc.id);
        if same {
            return Err(ApiError::Conflict(format!(
                "this signed directive (document id {}) was already published as directive {}{}; \
                 sign a new one to run it again",
                doc.id,
                old.id,
                if old.closed.is_some() { " (closed)" } else { "" }
            )));
        }
    }
    for org in &doc.orgs {
        state.store.get_org(*org).await?.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "organisation {org} named by the directive does not exist"
            ))
        })?;
        if let Some(key) = state.store.org_directive_key(*org).await? {
            let registered = directive::public_key_id(&key).unwrap_or_default();
            if registered != signer {
                return Err(ApiError::BadRequest(format!(
                    "signed by key {signer}, but organisation {org}'s directive key is {registered}"
                )));
            }
        }
    }
    let d = state
        .store
        .create_directive(
            &NewDirective {
                name: doc.name.clone(),
                verb: doc.verb.clone(),
                command: doc.summary(),
                document: Some(envelope.document),
                signature: Some(envelope.signature),
                bundle,
                deadline: doc.deadline,
                orgs: doc.orgs.clone(),
            },
            Utc::now(),
        )
        .await?;
    Ok(d)
}

pub(crate) async fn create_directive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<DirectiveSummary>), ApiError> {
    auth::admin(&state, &headers).await?;
    if body.get("command").is_some() {
        return Err(ApiError::BadRequest(
            "unsigned directives (a command string) are no longer accepted: sign the directive \
             with `ferret admin directive sign` and publish the envelope"
                .into(),
        ));
    }
    let envelope: Envelope = serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("not a directive envelope: {e}")))?;
    let d = publish_directive(&state, envelope).await?;
    Ok((StatusCode::CREATED, Json(DirectiveSummary::from(&d))))
}

pub(crate) async fn list_directives(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<DirectiveSummary>>, ApiError> {
    auth::admin(&state, &headers).await?;
    let list = state.store.list_all_directives().await?;
    Ok(Json(list.iter().map(DirectiveSummary::from).collect()))
}

/// `GET /api/v1/admin/directives/{id}` answer: the directive and its hosts per status,
/// summed over its organisations.
#[derive(Debug, Serialize)]
pub struct DirectiveDetail {
    /// The directive.
    #[serde(flatten)]
    pub directive: DirectiveSummary,
    /// The signed document's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Hosts per status (`affected`, `clean`, `fixed`, `errored`, `pending`,
    /// `not_answered`; [`ferret_store::HostStatus::code`]), every status present.
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Hosts it applies to.
    pub hosts: usize,
}

pub(crate) async fn get_directive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<DirectiveDetail>, ApiError> {
    auth::admin(&state, &headers).await?;
    let d = state.store.get_directive_any(id).await?.ok_or(ApiError::NotFound)?;
    // The roll-up's counts, computed in SQL per organisation (no host is loaded), with the
    // same statuses as the export and the dashboard.
    let mut counts: std::collections::BTreeMap<String, usize> =
        ferret_store::HostStatus::ALL.iter().map(|s| (s.code().to_owned(), 0)).collect();
    let mut hosts = 0;
    let now = Utc::now();
    for org in &d.orgs {
        if let Some(sum) = state.store.rollup_summary(*org, id, now, 1).await? {
            hosts += usize::try_from(sum.hosts).unwrap_or(0);
            for (st, n) in sum.counts {
                *counts.entry(st.code().to_owned()).or_default() += usize::try_from(n).unwrap_or(0);
            }
        }
    }
    Ok(Json(DirectiveDetail {
        directive: DirectiveSummary::from(&d),
        document: d.document.clone(),
        counts,
        hosts,
    }))
}

pub(crate) async fn close_directive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    auth::admin(&state, &headers).await?;
    if state.store.close_directive(id, Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}

/// `GET /api/v1/admin/hosts` query.
#[derive(Debug, Deserialize)]
pub struct HostQuery {
    /// Only this organisation.
    #[serde(default)]
    pub org: Option<i64>,
    /// Host name contains this (case-insensitive).
    #[serde(default)]
    pub name: Option<String>,
}

pub(crate) async fn list_hosts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HostQuery>,
) -> Result<Json<Vec<ferret_store::Host>>, ApiError> {
    auth::admin(&state, &headers).await?;
    let orgs = match q.org {
        Some(o) => vec![state.store.get_org(o).await?.ok_or(ApiError::NotFound)?.id],
        None => state.store.list_orgs().await?.into_iter().map(|o| o.id).collect(),
    };
    let mut out = Vec::new();
    for org in orgs {
        out.extend(state.store.list_hosts(org, q.name.as_deref()).await?);
    }
    Ok(Json(out))
}

/// `PUT /api/v1/admin/orgs/{id}/directive-key` body.
#[derive(Debug, Deserialize)]
pub struct DirectiveKeyBody {
    /// The organisation's directive public key (minisign public key text).
    pub directive_key: String,
}

fn checked_public_key(text: &str) -> Result<(String, String), ApiError> {
    let text = text.trim();
    let id = directive::public_key_id(text)
        .ok_or_else(|| ApiError::BadRequest("directive_key is not a minisign public key".into()))?;
    Ok((text.to_owned(), id))
}

pub(crate) async fn set_directive_key(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(org): Path<i64>,
    Json(body): Json<DirectiveKeyBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    auth::admin(&state, &headers).await?;
    let (key, id) = checked_public_key(&body.directive_key)?;
    if !state.store.set_org_directive_key(org, Some(&key)).await? {
        return Err(ApiError::NotFound);
    }
    Ok(Json(serde_json::json!({ "org_id": org, "key_id": id })))
}

/// `POST /api/v1/enroll` body.
#[derive(Debug, Deserialize)]
pub struct EnrollBody {
    /// The organisation's enrolment secret.
    pub secret: String,
    /// The host's name.
    pub host: String,
}

pub(crate) async fn enroll(
    State(state): State<AppState>,
    Json(body): Json<EnrollBody>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let org = state
        .store
        .org_for_secret(&hash_token(&body.secret))
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let name = body.host.trim();
    if name.is_empty() || name.len() > 255 {
        return Err(ApiError::BadRequest("host name must be 1 to 255 bytes".into()));
    }
    let token = auth::new_token()?;
    let host = state.store.create_host(org, name, &hash_token(&token)).await?;
    // The key the collector advertises: a host pins it on first use unless its operator
    // gave one with `ferret enroll --directive-key`.
    let key = state.store.org_directive_key(org).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "host_id": host.id, "org_id": org, "token": token, "directive_key": key,
        })),
    ))
}

/// `POST /api/v1/reports` answer.
#[derive(Debug, Serialize)]
pub struct Ingested {
    /// The report's run id.
    pub run_id: String,
    /// The stored run's id.
    pub id: i64,
    /// True when this run id had been stored before (nothing was added).
    pub duplicate: bool,
}

/// `POST /api/v1/reports`. The host was authenticated from the headers by
/// [`auth::authenticate_first`] before the body was read.
pub(crate) async fn ingest(
    State(state): State<AppState>,
    Extension(host): Extension<ferret_store::Host>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Ingested>, ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge { limit: state.body_limit }
        } else {
            ApiError::BadRequest(format!("could not read the body: {e}"))
        }
    })?;
    let encoding = headers.get(axum::http::header::CONTENT_ENCODING).and_then(|v| v.to_str().ok());
    let report =
        ferret_report::upload::decode(encoding, &body, state.body_limit).map_err(|e| match e {
            ferret_report::upload::UploadError::TooLarge { limit } => ApiError::TooLarge { limit },
            other => ApiError::BadRequest(other.to_string()),
        })?;
    let directive = match headers.get(DIRECTIVE_HEADER) {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .ok_or_else(|| ApiError::BadRequest("x-ferret-directive is not an id".into()))?,
        ),
        None => None,
    };
    let done = state.store.ingest(&host, &report, directive, Utc::now()).await?;
    Ok(Json(Ingested { run_id: done.run_id, id: done.id, duplicate: done.duplicate }))
}

pub(crate) async fn pending(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<DirectiveView>>, ApiError> {
    let host = auth::host(&state, &headers).await?;
    let list = state.store.pending_directives(&host).await?;
    Ok(Json(list.into_iter().map(DirectiveView::from).collect()))
}

/// `POST /api/v1/directives/{id}/outcome` body.
#[derive(Debug, Deserialize)]
pub struct OutcomeBody {
    /// Whether the command failed.
    pub errored: bool,
    /// Exit code.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// The report's run id.
    #[serde(default)]
    pub run_id: Option<String>,
}

pub(crate) async fn outcome(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Json(body): Json<OutcomeBody>,
) -> Result<StatusCode, ApiError> {
    let host = auth::host(&state, &headers).await?;
    state.store.get_directive(host.org_id, id).await?.ok_or(ApiError::NotFound)?;
    let message = body.message.map(|m| m.chars().take(2000).collect());
    state
        .store
        .record_outcome(
            &host,
            id,
            &DirectiveOutcome {
                errored: body.errored,
                exit_code: body.exit_code,
                message,
                run_id: body.run_id,
            },
            Utc::now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn get_run(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Json<ferret_store::Run>, ApiError> {
    let host = auth::host(&state, &headers).await?;
    let run = state.store.get_run(host.org_id, id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(run))
}

pub(crate) async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], include_str!("openapi.json"))
}
