//! Credentials: random tokens, Argon2 passwords, bearer tokens of hosts and admins, and
//! dashboard sessions with their CSRF tokens; and [`authenticate_first`], the layer that
//! checks them before any request body is read.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Redirect, Response};
use ferret_store::{Host, Session, hash_token};

use crate::AppState;
use crate::error::ApiError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ferret_session";
/// Name of the pre-login CSRF cookie (double-submit on the login form).
pub const LOGIN_CSRF_COOKIE: &str = "ferret_login_csrf";

const NO_RANDOM: ApiError = ApiError::Internal("no random bytes from the operating system");

/// A new random token: 32 bytes from the operating system, hex. A time-derived fallback
/// would be guessable and an all-zero buffer is never handed out: when the operating
/// system's generator fails twice, the request fails (500).
pub fn new_token() -> Result<String, ApiError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).or_else(|_| getrandom::fill(&mut buf)).map_err(|_| NO_RANDOM)?;
    Ok(hex::encode(buf))
}

/// The Argon2id PHC string of a password.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| NO_RANDOM)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| ApiError::Internal("password salt"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ApiError::Internal("password hashing failed"))
}

/// Whether `password` matches a stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The host whose token is in `Authorization: Bearer`, or 401.
pub async fn host(state: &AppState, headers: &HeaderMap) -> Result<Host, ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    state.store.host_by_token(&hash_token(token)).await?.ok_or(ApiError::Unauthorized)
}

/// Succeeds when `Authorization: Bearer` holds an admin token, else 401.
pub async fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = bearer(headers).ok_or(ApiError::Unauthorized)?;
    if state.store.admin_token_valid(&hash_token(token)).await? {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

/// A cookie's value from the `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The live session of the request, if any, with its token.
pub async fn session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, Session)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    let s = state.store.session(&hash_token(token), chrono::Utc::now()).await?;
    Ok(s.map(|s| (token.to_owned(), s)))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and Secure unless the state
/// says the collector is plain HTTP on loopback for tests.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

/// Largest body of the requests read before any credential is checked (the sign-in form
/// and `POST /api/v1/enroll`, whose secrets are in the body): 64 KiB.
pub const UNAUTHENTICATED_BODY_LIMIT: usize = 64 * 1024;

/// What a request must show before its body is read, by path.
enum Gate {
    /// `GET /api/v1/openapi.json`, the dashboard's pages (each checks its session) and
    /// anything that is not a POST outside the API.
    Open,
    /// The sign-in form and enrolment: no credential yet, so the body is read but capped.
    SmallBody,
    /// `/api/v1/admin/…`: an admin token.
    Admin,
    /// Every other API route: a host token.
    Host,
    /// A dashboard form: a live session.
    Session,
}

/// Whether `method path` is one of [`crate::API_ROUTES`] (`{param}` matching a segment).
fn api_routed(method: &Method, path: &str) -> bool {
    crate::API_ROUTES.iter().any(|(m, pattern)| {
        *m == method.as_str() && {
            let mut want = pattern.split('/');
            let mut got = path.split('/');
            loop {
                match (want.next(), got.next()) {
                    (None, None) => break true,
                    (Some(w), Some(g)) if w == g || (w.starts_with('{') && !g.is_empty()) => {}
                    _ => break false,
                }
            }
        }
    })
}

fn gate(method: &Method, path: &str) -> Gate {
    if let Some(rest) = path.strip_prefix("/api/") {
        if !api_routed(method, path) {
            // Answered 404 or 405 by the router, without reading the body.
            return Gate::Open;
        }
        return match rest {
            "v1/openapi.json" => Gate::Open,
            "v1/enroll" => Gate::SmallBody,
            r if r.starts_with("v1/admin/") => Gate::Admin,
            _ => Gate::Host,
        };
    }
    if method == Method::GET || method == Method::HEAD {
        Gate::Open
    } else if path == "/login" {
        Gate::SmallBody
    } else {
        Gate::Session
    }
}

/// The layer in front of every route: checks the credential a route needs from the headers
/// alone, before the body is read, so an unauthenticated client cannot make the collector
/// read (or gunzip, or parse) an upload. A bad or absent bearer token is 401 and a form
/// without a live session goes to the sign-in page, with the body left unread; the
/// sign-in form and enrolment have their body capped at [`UNAUTHENTICATED_BODY_LIMIT`].
/// An authenticated host is put into the request's extensions for the handler.
pub async fn authenticate_first(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match gate(req.method(), req.uri().path()) {
        Gate::Open => {}
        Gate::SmallBody => {
            let (parts, body) = req.into_parts();
            let too_large = ApiError::TooLarge { limit: UNAUTHENTICATED_BODY_LIMIT };
            let declared = parts
                .headers
                .get(axum::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|n| n > UNAUTHENTICATED_BODY_LIMIT as u64) {
                return too_large.into_response();
            }
            let Ok(bytes) = axum::body::to_bytes(body, UNAUTHENTICATED_BODY_LIMIT).await else {
                return too_large.into_response();
            };
            req = Request::from_parts(parts, axum::body::Body::from(bytes));
        }
        Gate::Admin => {
            if let Err(e) = admin(&state, req.headers()).await {
                return e.into_response();
            }
        }
        Gate::Host => match host(&state, req.headers()).await {
            Ok(h) => {
                req.extensions_mut().insert(h);
            }
            Err(e) => return e.into_response(),
        },
        Gate::Session => match session(&state, req.headers()).await {
            Ok(Some(_)) => {}
            Ok(None) => return Redirect::to("/login").into_response(),
            Err(e) => return e.into_response(),
        },
    }
    next.run(req).await
}

/// Adds `strict-transport-security` to a response served over TLS: browsers then use
/// HTTPS for this collector for a year. No `includeSubDomains`: the collector does not
/// speak for its domain's other hosts.
pub(crate) async fn hsts(mut resp: Response) -> Response {
    resp.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static("max-age=31536000"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_routes_are_matched_by_method_and_segments() {
        assert!(api_routed(&Method::POST, "/api/v1/reports"));
        assert!(!api_routed(&Method::GET, "/api/v1/reports"));
        assert!(api_routed(&Method::POST, "/api/v1/directives/7/outcome"));
        assert!(!api_routed(&Method::POST, "/api/v1/directives//outcome"));
        assert!(!api_routed(&Method::POST, "/api/v1/directives/7/outcome/x"));
        assert!(!api_routed(&Method::GET, "/api/v1/no-such-route"));
        assert!(matches!(gate(&Method::POST, "/api/v1/admin/orgs"), Gate::Admin));
        assert!(matches!(gate(&Method::POST, "/api/v1/reports"), Gate::Host));
        assert!(matches!(gate(&Method::POST, "/api/v1/enroll"), Gate::SmallBody));
        assert!(matches!(gate(&Method::GET, "/api/v1/openapi.json"), Gate::Open));
        assert!(matches!(gate(&Method::POST, "/login"), Gate::SmallBody));
        assert!(matches!(gate(&Method::POST, "/o/1/secrets"), Gate::Session));
        assert!(matches!(gate(&Method::GET, "/o/1"), Gate::Open));
    }
}
