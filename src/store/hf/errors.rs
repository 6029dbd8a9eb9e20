//! The one place where hf-hub errors become [`StoreError`]s: by error variant and HTTP
//! status, with the caller saying what a 404 means at that point (a missing key or a
//! missing bucket). Message text is carried along for the user, never matched on.

use std::time::Duration;

use hf_hub::HFError;

use crate::store::StoreError;

/// What a "not found" answer means for the failing call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing<'a> {
    /// The call named one object: a 404 that is not about the bucket means this key.
    Key(&'a str),
    /// The call was about the bucket as a whole (create, info, listing, batch writes).
    Bucket,
}

pub struct Ctx<'a> {
    pub bucket_id: &'a str,
    pub missing: Missing<'a>,
}

pub fn map_error(err: HFError, ctx: &Ctx<'_>) -> StoreError {
    match err {
        HFError::BucketNotFound { .. } | HFError::RepoNotFound { .. } => {
            StoreError::BucketMissing {
                bucket: ctx.bucket_id.to_string(),
            }
        }
        HFError::EntryNotFound { path, .. } => match ctx.missing {
            Missing::Key(key) => StoreError::NotFound {
                key: key.to_string(),
            },
            Missing::Bucket => StoreError::NotFound { key: path },
        },
        // Listing pages are checked by hf-hub without its status-to-variant step, so any
        // status can also arrive as a plain `Http` error: all of these go by the status.
        HFError::AuthRequired { context }
        | HFError::Forbidden { context }
        | HFError::Conflict { context }
        | HFError::Http { context } => classify(
            context.status.as_u16(),
            context.server_message.as_deref(),
            None,
            ctx,
        ),
        HFError::RateLimited {
            retry_after,
            context,
        } => classify(
            context.status.as_u16(),
            context.server_message.as_deref(),
            retry_after,
            ctx,
        ),
        // Connection failures and timeouts, after hf-hub's own retries.
        err @ HFError::Request { .. } => StoreError::Transport {
            message: format!("could not reach the Hugging Face Hub: {}", chain(&err)),
            retryable: true,
            hint: Some("check the network, or HF_ENDPOINT / the endpoint in the config".into()),
        },
        // The Xet transfer layer hides its own error type; most of its failures are
        // network failures against the storage service, worth another try.
        err @ HFError::Xet { .. } => {
            StoreError::transport(format!("Xet transfer failed: {}", chain(&err)), true)
        }
        err => StoreError::transport(
            format!("Hugging Face Hub request failed: {}", chain(&err)),
            false,
        ),
    }
}

/// Maps an HTTP error status of the Hub API.
fn classify(
    status: u16,
    message: Option<&str>,
    retry_after: Option<Duration>,
    ctx: &Ctx<'_>,
) -> StoreError {
    match status {
        401 | 403 => denied(status, message, ctx),
        404 => match ctx.missing {
            Missing::Key(key) => StoreError::NotFound {
                key: key.to_string(),
            },
            Missing::Bucket => StoreError::BucketMissing {
                bucket: ctx.bucket_id.to_string(),
            },
        },
        429 => StoreError::Transport {
            message: format!(
                "the Hugging Face Hub is rate limiting requests to bucket '{}'{}",
                ctx.bucket_id,
                detail(message)
            ),
            retryable: true,
            hint: Some(match retry_after {
                Some(wait) => format!("retry in {} s", wait.as_secs()),
                None => "retry in a minute".into(),
            }),
        },
        408 | 500..=599 => StoreError::transport(
            format!(
                "Hugging Face Hub error {status} on bucket '{}'{}",
                ctx.bucket_id,
                detail(message)
            ),
            true,
        ),
        _ => StoreError::transport(
            format!(
                "Hugging Face Hub error {status} on bucket '{}'{}",
                ctx.bucket_id,
                detail(message)
            ),
            false,
        ),
    }
}

fn denied(status: u16, server_message: Option<&str>, ctx: &Ctx<'_>) -> StoreError {
    let what = if status == 401 {
        "the Hugging Face Hub did not accept the token"
    } else {
        "the token is not allowed to do this"
    };
    StoreError::PermissionDenied {
        message: format!(
            "{what} (bucket '{}'){}",
            ctx.bucket_id,
            detail(server_message)
        ),
        hint: Some(token_hint(ctx.bucket_id)),
    }
}

pub fn token_hint(bucket_id: &str) -> String {
    let namespace = bucket_id.split('/').next().unwrap_or(bucket_id);
    format!(
        "set HF_TOKEN (or `token` in the config) to a Hugging Face token with write access to \
         the '{namespace}' namespace; create one at https://huggingface.co/settings/tokens"
    )
}

fn detail(message: Option<&str>) -> String {
    match message {
        Some(m) if !m.is_empty() => format!(": {m}"),
        _ => String::new(),
    }
}

/// The error with its sources, since hf-hub's top-level messages often omit the cause.
fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_CTX: Ctx<'static> = Ctx {
        bucket_id: "alice/coord",
        missing: Missing::Key("steps/a/claim.json"),
    };
    const BUCKET_CTX: Ctx<'static> = Ctx {
        bucket_id: "alice/coord",
        missing: Missing::Bucket,
    };

    #[test]
    fn missing_bucket_is_bucket_missing_whatever_the_call() {
        for ctx in [&KEY_CTX, &BUCKET_CTX] {
            let err = HFError::BucketNotFound {
                bucket_id: "alice/coord".into(),
                context: None,
            };
            assert!(matches!(
                map_error(err, ctx),
                StoreError::BucketMissing { bucket } if bucket == "alice/coord"
            ));
        }
    }

    #[test]
    fn missing_entry_is_not_found_for_the_callers_key() {
        let err = HFError::EntryNotFound {
            path: "proj/steps/a/claim.json".into(),
            repo_id: "alice/coord".into(),
            context: None,
        };
        assert!(matches!(
            map_error(err, &KEY_CTX),
            StoreError::NotFound { key } if key == "steps/a/claim.json"
        ));
    }

    #[test]
    fn malformed_and_other_errors_are_not_retryable() {
        let err = HFError::malformed_response("no body");
        assert!(!map_error(err, &KEY_CTX).is_retryable());
        let err = HFError::InvalidParameter("bad".into());
        assert!(matches!(
            map_error(err, &BUCKET_CTX),
            StoreError::Transport {
                retryable: false,
                ..
            }
        ));
    }

    #[test]
    fn token_hint_names_hf_token_and_namespace() {
        let hint = token_hint("alice/coord");
        assert!(hint.contains("HF_TOKEN"));
        assert!(hint.contains("'alice'"));
    }

    // hf-hub builds `HttpErrorContext` only from real responses, so the status branches
    // are tested through `classify`; tests/hf_backend.rs drives the whole path.
    #[test]
    fn auth_failures_are_permission_denied_with_a_token_hint_never_not_found() {
        for status in [401, 403] {
            for ctx in [&KEY_CTX, &BUCKET_CTX] {
                match classify(status, Some("nope"), None, ctx) {
                    StoreError::PermissionDenied { message, hint } => {
                        assert!(message.contains("alice/coord"), "{message}");
                        assert!(hint.unwrap().contains("HF_TOKEN"));
                    }
                    other => panic!("{status}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn not_found_means_the_key_or_the_bucket_as_the_caller_says() {
        assert!(matches!(
            classify(404, None, None, &KEY_CTX),
            StoreError::NotFound { key } if key == "steps/a/claim.json"
        ));
        assert!(matches!(
            classify(404, None, None, &BUCKET_CTX),
            StoreError::BucketMissing { bucket } if bucket == "alice/coord"
        ));
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_client_errors_are_not() {
        let limited = classify(429, None, Some(Duration::from_secs(7)), &BUCKET_CTX);
        assert!(limited.is_retryable());
        assert_eq!(limited.hint().as_deref(), Some("retry in 7 s"));
        for status in [408, 500, 502, 503] {
            assert!(
                classify(status, None, None, &BUCKET_CTX).is_retryable(),
                "{status}"
            );
        }
        for status in [400, 409, 413, 422] {
            assert!(
                !classify(status, None, None, &BUCKET_CTX).is_retryable(),
                "{status}"
            );
        }
    }
}
