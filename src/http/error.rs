//! The HTTP error boundary: every failure becomes `{code, message}` with a stable snake_case
//! code. 5xx are logged with their cause chain; the client gets a plain message.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::app::AppError;
use crate::ingest::RowError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadParameter { param: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("the import was rejected; nothing was written")]
    ImportRejected {
        errors: Vec<RowError>,
        truncated: bool,
    },
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("sign in first (session cookie or Authorization: Bearer token)")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    /// The thing changed since the caller read it (an edit based on an old version).
    #[error("{message}")]
    Conflict {
        message: String,
        current: Option<i64>,
    },
    #[error("too many failed logins; try again in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn bad(param: &str, message: impl Into<String>) -> Self {
        Self::BadParameter {
            param: param.to_string(),
            message: format!("{param}: {}", message.into()),
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::NotFound(format!("{what} {id:?} not found"))
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadParameter { .. } => "bad_parameter",
            Self::NotFound(_) => "not_found",
            Self::ImportRejected { .. } => "import_rejected",
            Self::TooLarge { .. } => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::BadCredentials => "bad_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::Conflict { .. } => "conflict",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::Internal(Box::new(e))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Import(ie) => Self::ImportRejected {
                errors: ie.errors,
                truncated: ie.truncated,
            },
            AppError::Forbidden(m) => Self::Forbidden(m),
            AppError::Invalid(e) => Self::bad(&e.field, e.reason),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadParameter { .. } => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::ImportRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            let mut chain = e.to_string();
            let mut src = e.source();
            while let Some(s) = src {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                src = s.source();
            }
            tracing::error!(error = %chain, "request failed");
        }
        let mut body = json!({ "code": self.code(), "message": self.to_string() });
        match self {
            Self::BadParameter { param, .. } => body["param"] = json!(param),
            Self::Conflict { current, .. } => body["current_version"] = json!(current),
            Self::ImportRejected { errors, truncated } => {
                body["errors"] = json!(errors);
                body["truncated"] = json!(truncated);
                if let Some(first) = errors.first() {
                    body["message"] = json!(format!(
                        "the import was rejected; nothing was written. First problem: {first}"
                    ));
                }
            }
            _ => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests { retry_after_s } = self {
            resp.insert_header(("Retry-After", retry_after_s.to_string()));
        }
        resp.json(body)
    }
}

/// Maps actix's own extractor failures (bad path, bad JSON, oversize) into our shape.
pub fn from_actix(err: actix_web::Error) -> actix_web::Error {
    let status = err.as_response_error().status_code();
    let api = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit: 0 },
        StatusCode::NOT_FOUND => ApiError::NotFound(err.to_string()),
        _ => ApiError::bad("request", err.to_string()),
    };
    api.into()
}
