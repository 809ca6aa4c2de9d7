//! What an engine operation answers when it cannot do what was asked, one variant per HTTP
//! status the API gives (see `docs/engine-api.md`). Messages are for people and never carry a
//! secret: they are built from names, limits and the store's own error text.

use riposte_engine_client::wire::{self, error_code};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{message}")]
    Validation {
        message: String,
        diagnostics: Vec<wire::Diagnostic>,
    },
    #[error("{0}")]
    InvalidAlert(String),
    #[error("{0}")]
    Limit(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    NotAvailable(String),
    #[error("{0}")]
    Internal(String),
}

impl EngineError {
    pub fn status(&self) -> u16 {
        match self {
            EngineError::BadRequest(_) => 400,
            EngineError::Unauthorized(_) => 401,
            EngineError::Forbidden(_) => 403,
            EngineError::NotFound(_) => 404,
            EngineError::Conflict(_) => 409,
            EngineError::TooLarge(_) => 413,
            EngineError::Validation { .. }
            | EngineError::InvalidAlert(_)
            | EngineError::Limit(_) => 422,
            EngineError::Unavailable(_) => 503,
            EngineError::NotAvailable(_) => 501,
            EngineError::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            EngineError::BadRequest(_) => error_code::BAD_REQUEST,
            EngineError::Unauthorized(_) => error_code::UNAUTHORIZED,
            EngineError::Forbidden(_) => error_code::FORBIDDEN,
            EngineError::NotFound(_) => error_code::NOT_FOUND,
            EngineError::Conflict(_) => error_code::CONFLICT,
            EngineError::TooLarge(_) => error_code::PAYLOAD_TOO_LARGE,
            EngineError::Validation { .. } => error_code::VALIDATION_FAILED,
            EngineError::InvalidAlert(_) => error_code::INVALID_ALERT,
            EngineError::Limit(_) => error_code::LIMIT_EXCEEDED,
            EngineError::Unavailable(_) => error_code::STORE_UNAVAILABLE,
            EngineError::NotAvailable(_) => error_code::NOT_AVAILABLE,
            EngineError::Internal(_) => error_code::INTERNAL,
        }
    }

    pub fn body(&self) -> wire::ErrorBody {
        let diagnostics = match self {
            EngineError::Validation { diagnostics, .. } => diagnostics.clone(),
            _ => Vec::new(),
        };
        wire::ErrorBody {
            error: wire::ApiError {
                code: self.code().to_string(),
                message: self.to_string(),
                diagnostics,
            },
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => EngineError::Unavailable(err.to_string()),
            StoreError::NotFound(m) => EngineError::NotFound(m),
            StoreError::Conflict(m) => EngineError::Conflict(m),
            StoreError::Limit(m) => EngineError::Limit(m),
            StoreError::Refused(m) => EngineError::Validation {
                message: m,
                diagnostics: Vec::new(),
            },
            StoreError::Database(_) => EngineError::Internal(err.to_string()),
        }
    }
}
