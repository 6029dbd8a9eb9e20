//! The one place where S3 SDK errors become [`StoreError`]s: by HTTP status and S3 error
//! code, with the operation deciding what a 404 or a 412 means. Message text is only
//! carried along for the user, never matched on.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use crate::store::{PutMode, StoreError};

/// What the failing call was trying to do.
#[derive(Clone, Debug)]
pub enum Op {
    Read,
    List,
    Delete,
    /// A write that carries no precondition of its own (multipart parts, bucket-less).
    Write,
    Put(PutMode),
    Bucket,
}

pub struct Ctx<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub op: Op,
    pub endpoint: Option<&'a str>,
    pub backend: &'static str,
}

pub fn map_error<E>(err: SdkError<E, Response>, ctx: &Ctx<'_>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (&err, status) {
        (SdkError::ServiceError(_) | SdkError::ResponseError(_), Some(status)) => {
            classify(status, err.code(), err.message(), ctx)
        }
        (SdkError::TimeoutError(_), _) => unreachable_endpoint(ctx, "timed out"),
        (SdkError::DispatchFailure(d), _) if d.is_io() || d.is_timeout() => unreachable_endpoint(
            ctx,
            if d.is_timeout() {
                "timed out"
            } else {
                "connection failed"
            },
        ),
        // Credentials that cannot be resolved surface as a dispatch failure before any
        // request is sent; they are told apart from a lost connection by their type.
        (SdkError::DispatchFailure(_), _) if caused_by_credentials(&err) => {
            StoreError::PermissionDenied {
                message: format!("could not sign the request: {}", source_chain(&err)),
                hint: Some(credentials_hint(ctx)),
            }
        }
        // A connection dropped mid-request (the response may be lost): worth a retry.
        (SdkError::DispatchFailure(_), _) => StoreError::Transport {
            message: format!("{} request failed: {}", ctx.backend, source_chain(&err)),
            retryable: true,
            hint: None,
        },
        _ => StoreError::transport(
            format!("{} request failed: {}", ctx.backend, source_chain(&err)),
            false,
        ),
    }
}

fn classify(status: u16, code: Option<&str>, message: Option<&str>, ctx: &Ctx<'_>) -> StoreError {
    let key = ctx.key.to_string();
    let conflict = || match &ctx.op {
        Op::Put(PutMode::Create) | Op::Bucket => StoreError::AlreadyExists { key: key.clone() },
        _ => StoreError::PreconditionFailed { key: key.clone() },
    };
    match (status, code) {
        (_, Some("NoSuchBucket")) => StoreError::BucketMissing {
            bucket: ctx.bucket.to_string(),
        },
        (412, _) | (409, Some("ConditionalRequestConflict")) => conflict(),
        (409, Some("BucketAlreadyOwnedByYou")) => StoreError::AlreadyExists { key },
        (409, Some("BucketAlreadyExists")) => StoreError::PermissionDenied {
            message: format!(
                "bucket '{}' already exists and belongs to someone else",
                ctx.bucket
            ),
            hint: Some("choose another bucket name with --bucket".into()),
        },
        // If-Match against a key that is gone: the compare part of compare-and-swap failed.
        (404, _) if matches!(ctx.op, Op::Put(PutMode::UpdateIfVersion(_))) => {
            StoreError::PreconditionFailed { key }
        }
        (404, _) if matches!(ctx.op, Op::Bucket) => StoreError::BucketMissing {
            bucket: ctx.bucket.to_string(),
        },
        (404, _) => StoreError::NotFound { key },
        (401 | 403, _) => StoreError::PermissionDenied {
            message: format!(
                "{} on bucket '{}'{}",
                code.unwrap_or("access denied"),
                ctx.bucket,
                message.map(|m| format!(": {m}")).unwrap_or_default()
            ),
            hint: Some(match code {
                Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken") => {
                    credentials_hint(ctx)
                }
                _ => format!(
                    "the credentials in use lack permission on bucket '{}'",
                    ctx.bucket
                ),
            }),
        },
        (501, _) | (_, Some("NotImplemented")) => StoreError::NotSupported {
            backend: ctx.backend,
            operation: match &ctx.op {
                Op::Put(mode) => format!("conditional writes ({})", mode.name()),
                other => format!("{other:?}").to_lowercase(),
            },
        },
        (429 | 500 | 502 | 503 | 504, _) | (_, Some("SlowDown" | "InternalError")) => {
            StoreError::transport(
                format!(
                    "{} answered {status}{} for '{}'",
                    ctx.backend,
                    code.map(|c| format!(" {c}")).unwrap_or_default(),
                    ctx.key
                ),
                true,
            )
        }
        _ => StoreError::transport(
            format!(
                "{} answered {status}{}{} for '{}'",
                ctx.backend,
                code.map(|c| format!(" {c}")).unwrap_or_default(),
                message.map(|m| format!(": {m}")).unwrap_or_default(),
                ctx.key
            ),
            false,
        ),
    }
}

fn unreachable_endpoint(ctx: &Ctx<'_>, what: &str) -> StoreError {
    let target = ctx.endpoint.unwrap_or("AWS S3");
    StoreError::Transport {
        message: format!("cannot reach {target}: {what}"),
        retryable: true,
        hint: Some(match ctx.endpoint {
            Some(ep) => format!("check that the S3 endpoint {ep} is up and the URL is right"),
            None => "check the network and the AWS region".into(),
        }),
    }
}

fn credentials_hint(ctx: &Ctx<'_>) -> String {
    if ctx.backend == "hf" {
        "check the Hugging Face S3 gateway access key and secret given at init".into()
    } else {
        "check the access key and secret (init flags, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)".into()
    }
}

fn caused_by_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Version;

    fn ctx(op: Op) -> Ctx<'static> {
        Ctx {
            bucket: "b",
            key: "k",
            op,
            endpoint: Some("http://127.0.0.1:1"),
            backend: "s3",
        }
    }

    #[test]
    fn conflicts_are_typed_by_the_write_mode() {
        let create = ctx(Op::Put(PutMode::Create));
        assert!(matches!(
            classify(412, None, None, &create),
            StoreError::AlreadyExists { .. }
        ));
        assert!(matches!(
            classify(409, Some("ConditionalRequestConflict"), None, &create),
            StoreError::AlreadyExists { .. }
        ));
        let cas = ctx(Op::Put(PutMode::UpdateIfVersion(Version::new("e"))));
        assert!(matches!(
            classify(412, None, None, &cas),
            StoreError::PreconditionFailed { .. }
        ));
        assert!(matches!(
            classify(404, Some("NoSuchKey"), None, &cas),
            StoreError::PreconditionFailed { .. }
        ));
    }

    #[test]
    fn statuses_map_to_their_kinds() {
        let read = ctx(Op::Read);
        assert!(matches!(
            classify(404, Some("NoSuchKey"), None, &read),
            StoreError::NotFound { .. }
        ));
        assert!(matches!(
            classify(404, None, None, &read),
            StoreError::NotFound { .. }
        ));
        assert!(matches!(
            classify(404, Some("NoSuchBucket"), None, &read),
            StoreError::BucketMissing { .. }
        ));
        assert!(matches!(
            classify(403, Some("SignatureDoesNotMatch"), None, &read),
            StoreError::PermissionDenied { hint: Some(_), .. }
        ));
        assert!(classify(503, Some("SlowDown"), None, &read).is_retryable());
        assert!(!classify(400, Some("InvalidRequest"), None, &read).is_retryable());
        assert!(matches!(
            classify(
                501,
                Some("NotImplemented"),
                None,
                &ctx(Op::Put(PutMode::Create))
            ),
            StoreError::NotSupported { .. }
        ));
        assert!(matches!(
            classify(409, Some("BucketAlreadyExists"), None, &ctx(Op::Bucket)),
            StoreError::PermissionDenied { .. }
        ));
    }
}
