//! The JSON API under `/api/v1`: administration (bearer admin token), enrolment, report
//! ingest and directives (bearer host token). Described in `openapi.json`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use base64::Engine as _;
use chrono::{DateTime, Utc};
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
    let org = state.store.create_org(name).await?;
    let secret = auth::new_token()?;
    state.store.add_enrolment_secret(org.id, &hash_token(&secret)).await?;
    Ok((
        StatusCode::CREATED,
        Json(OrgCreated { id: org.id, name: org.name, enrolment_secret: secret }),
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
    if body.password.chars().count() < 10 {
        return Err(ApiError::BadRequest("password must have at least 10 characters".into()));
    }
    if body.name.trim().is_empty() {
        return Err(ApiError::BadRequest("user name is empty".into()));
    }
    state.store.get_org(body.org_id).await?.ok_or(ApiError::NotFound)?;
    let user = if let Some(u) = state.store.user_by_name(&body.name).await? {
        u
    } else {
        {
            let pw = body.password.clone();
            let phc = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
                .await
                .map_err(|_| ApiError::Internal("password hashing failed"))??;
            state.store.create_user(&body.name, &phc).await?
        }
    };
    state.store.grant_role(user.id, body.org_id, role).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": user.id }))))
}

/// `POST /api/v1/admin/directives` body.
#[derive(Debug, Deserialize)]
pub struct DirectiveBody {
    /// Name.
    pub name: String,
    /// ferret arguments, e.g. `check --campaign pulse-secure`.
    pub command: String,
    /// Optional rule bundle, base64.
    #[serde(default)]
    pub bundle_b64: Option<String>,
    /// Deadline (RFC 3339).
    pub deadline: DateTime<Utc>,
    /// Organisation ids.
    pub orgs: Vec<i64>,
}

/// A directive as the API shows it.
#[derive(Debug, Serialize)]
pub struct DirectiveView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// ferret arguments.
    pub command: String,
    /// Deadline.
    pub deadline: DateTime<Utc>,
    /// Rule bundle, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_b64: Option<String>,
}

impl From<ferret_store::Directive> for DirectiveView {
    fn from(d: ferret_store::Directive) -> Self {
        DirectiveView {
            id: d.id,
            name: d.name,
            command: d.command,
            deadline: d.deadline,
            bundle_b64: d.bundle.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        }
    }
}

pub(crate) async fn create_directive(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<DirectiveBody>,
) -> Result<(StatusCode, Json<DirectiveView>), ApiError> {
    auth::admin(&state, &headers).await?;
    if body.command.split_whitespace().next().is_none() {
        return Err(ApiError::BadRequest("command is empty".into()));
    }
    if body.orgs.is_empty() {
        return Err(ApiError::BadRequest(
            "a directive applies to at least one organisation".into(),
        ));
    }
    for org in &body.orgs {
        state.store.get_org(*org).await?.ok_or(ApiError::NotFound)?;
    }
    let bundle = match &body.bundle_b64 {
        Some(b) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|e| ApiError::BadRequest(format!("bundle_b64 is not base64: {e}")))?,
        ),
        None => None,
    };
    let d = state
        .store
        .create_directive(
            &NewDirective {
                name: body.name,
                command: body.command,
                bundle,
                deadline: body.deadline,
                orgs: body.orgs,
            },
            Utc::now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(d.into())))
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
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "host_id": host.id, "org_id": org, "token": token })),
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
