//! [`ApiError`]: every failure a handler can return, and its HTTP response.
//!
//! API errors are JSON `{"error": "<lowercase message>"}`; the status says what kind.
//! Store failures are logged nowhere by the library and answered with a generic 500 so no
//! database detail leaks to a client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferret_store::StoreError;

/// A handler failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No or an unknown credential.
    #[error("authentication required")]
    Unauthorized,
    /// Not found, or not visible to this caller (another organisation's data).
    #[error("not found")]
    NotFound,
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The body is over the limit.
    #[error("request body too large (limit {limit} bytes)")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A form without the session's CSRF token, or a role that may not do this.
    #[error("forbidden")]
    Forbidden,
    /// A unique name is taken.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error("internal error")]
    Store(#[source] StoreError),
    /// The server could not do its part (the operating system's random number generator,
    /// password hashing): the reason is logged nowhere and not shown beyond this sentence.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { what } => ApiError::Conflict(format!("{what} already exists")),
            other => ApiError::Store(other),
        }
    }
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Store(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut resp =
            (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}
