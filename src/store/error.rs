//! The typed errors of the storage contract. Backends translate their own failures into
//! these in one mapping function each; commands decide exit codes and hints from them.

use thiserror::Error;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("no object at key '{key}'")]
    NotFound { key: String },

    #[error("an object already exists at key '{key}'")]
    AlreadyExists { key: String },

    #[error("the object at key '{key}' changed or disappeared since it was read")]
    PreconditionFailed { key: String },

    #[error("bucket '{bucket}' does not exist")]
    BucketMissing { bucket: String },

    #[error("permission denied: {message}")]
    PermissionDenied {
        message: String,
        hint: Option<String>,
    },

    #[error("the {backend} backend does not support {operation}")]
    NotSupported {
        backend: &'static str,
        operation: String,
    },

    #[error("invalid key '{key}': {reason}")]
    InvalidKey { key: String, reason: String },

    #[error("{message}")]
    Transport {
        message: String,
        retryable: bool,
        hint: Option<String>,
    },
}

impl StoreError {
    pub fn transport(message: impl Into<String>, retryable: bool) -> Self {
        StoreError::Transport {
            message: message.into(),
            retryable,
            hint: None,
        }
    }

    /// True when repeating the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Transport {
                retryable: true,
                ..
            }
        )
    }

    /// True for the outcomes of a lost conditional write (another writer got there first).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::AlreadyExists { .. } | StoreError::PreconditionFailed { .. }
        )
    }

    /// A likely fix, shown to the user under the error line.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::BucketMissing { bucket } => Some(format!(
                "create it with `tracecraft init` (bucket '{bucket}'), or check the bucket name in the config"
            )),
            StoreError::PermissionDenied { hint, .. } | StoreError::Transport { hint, .. } => {
                hint.clone()
            }
            StoreError::NotSupported { .. } => Some(
                "use the fs backend, an S3-compatible store, or the Hugging Face S3 gateway for atomic writes"
                    .into(),
            ),
            _ => None,
        }
    }
}
