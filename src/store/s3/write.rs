//! One attempt of a single-PUT write with its conditional header and the writer's nonce,
//! sent without the SDK's own retries, and the check, after a conflict that followed a
//! retry, of whether an earlier attempt of ours landed.

use aws_config::retry::RetryConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::errors::{Op, map_error};
use super::{NONCE_META, S3Store};
use crate::store::{PutMode, PutOptions, Store, StoreError, StoreResult, Version};

impl S3Store {
    fn no_sdk_retry() -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::config::Builder::default().retry_config(RetryConfig::disabled())
    }

    pub(super) async fn put_once(
        &self,
        key: &str,
        full: &str,
        body: Bytes,
        mode: &PutMode,
        opts: &PutOptions,
        nonce: &str,
    ) -> StoreResult<Version> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(full)
            .body(ByteStream::from(body))
            .metadata(NONCE_META, nonce);
        for (k, v) in &opts.metadata {
            req = req.metadata(k, v);
        }
        if let Some(ct) = &opts.content_type {
            req = req.content_type(ct);
        }
        req = match mode {
            PutMode::Overwrite => req,
            PutMode::Create => req.if_none_match("*"),
            PutMode::UpdateIfVersion(v) => req.if_match(v.as_str()),
        };
        let out = req
            .customize()
            .config_override(Self::no_sdk_retry())
            .send()
            .await
            .map_err(|e| map_error(e, &self.ctx(key, Op::Put(mode.clone()))))?;
        match out.e_tag() {
            Some(etag) => Ok(Version::new(etag)),
            None => Ok(self.head(key).await?.version),
        }
    }

    /// After a conflict that followed a retried write: did our first attempt land?
    pub(super) async fn landed(
        &self,
        key: &str,
        nonce: &str,
        body: Option<&Bytes>,
    ) -> StoreResult<Option<Version>> {
        let obj = match self.get_inner(key, None, false).await {
            Ok(obj) => obj.expect("unconditional get"),
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let ours = match obj.1.as_deref() {
            Some(stored) => stored == nonce,
            // A gateway that drops user metadata: fall back to the bytes themselves.
            None => body.is_some_and(|b| *b == obj.0.body),
        };
        Ok(ours.then(|| obj.0.meta.version.clone()))
    }
}
