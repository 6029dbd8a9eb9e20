//! The S3 backend (AWS, R2, MinIO, SeaweedFS, Ceph, the Hugging Face S3 gateway) on
//! `aws-sdk-s3`. Create sends `If-None-Match: *` and compare-and-swap sends `If-Match`.
//! Writes are retried here rather than by the SDK, so that a conflict which follows a
//! retry (the first attempt may have won and lost its response) is checked against the
//! nonce this writer stored in the object's metadata before it is called a loss. SDK
//! errors are translated in `s3/errors.rs`; none escape this module.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::AsyncReadExt;

mod clock;
mod connect;
mod errors;
mod multipart;
mod write;

use super::{
    BucketSetup, Capabilities, ListEntry, Object, ObjectMeta, PutMode, PutOptions, Reader, Store,
    StoreError, StoreResult, Version, check_key, check_prefix,
};
use crate::keys;
use clock::ServerDate;
use errors::{Ctx, Op, map_error};

/// The metadata entry holding the writer's nonce (sent as `x-amz-meta-tc-nonce`).
const NONCE_META: &str = "tc-nonce";
/// Objects up to this size go up in one PUT; larger ones as a multipart upload.
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
/// Part size of multipart uploads: the most an upload holds in memory at once.
const PART_SIZE: usize = 16 * 1024 * 1024;
const WRITE_ATTEMPTS: u32 = 3;
/// Bodies up to this size are copied out of the buffer they were received in.
const SMALL_BODY: usize = 64 * 1024;

/// How to reach one S3 bucket.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    pub bucket: String,
    pub project: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub force_path_style: bool,
    /// What `backend()` reports: `s3`, or `hf` when this serves the Hugging Face gateway.
    pub backend_name: &'static str,
}

pub struct S3Store {
    client: Client,
    bucket: String,
    project: String,
    endpoint: Option<String>,
    region: String,
    backend_name: &'static str,
}

impl S3Store {
    fn full(&self, key: &str) -> StoreResult<String> {
        check_key(key)?;
        Ok(keys::scoped(&self.project, key))
    }

    /// Reads an object and the nonce stored with it; `None` when `known` still matches.
    async fn get_inner(
        &self,
        key: &str,
        known: Option<&Version>,
        timed: bool,
    ) -> StoreResult<Option<(Object, Option<String>)>> {
        let full = self.full(key)?;
        let date = ServerDate::default();
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .set_if_none_match(known.map(|v| v.as_str().to_string()));
        let sent = if timed {
            request.customize().interceptor(date.clone()).send().await
        } else {
            request.send().await
        };
        let out = match sent {
            Ok(out) => out,
            Err(e)
                if known.is_some()
                    && e.raw_response().map(|r| r.status().as_u16()) == Some(304) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(map_error(e, &self.ctx(key, Op::Read))),
        };
        let (mut meta, nonce) = object_meta(
            key,
            out.content_length(),
            out.last_modified(),
            out.e_tag(),
            out.metadata(),
        );
        meta.server_time = date.get();
        let body = out.body.collect().await.map_err(|e| {
            StoreError::transport(
                format!("reading '{key}' from bucket '{}': {e}", self.bucket),
                true,
            )
        })?;
        // A small document read into a large network buffer would keep the whole buffer
        // alive for as long as the caller keeps the body (inbox holds thousands): copy it.
        let body = match body.into_bytes() {
            b if b.len() <= SMALL_BODY => Bytes::copy_from_slice(&b),
            b => b,
        };
        Ok(Some((
            Object {
                meta: ObjectMeta {
                    size: body.len() as u64,
                    ..meta
                },
                body,
            },
            nonce,
        )))
    }

    fn ctx<'a>(&'a self, key: &'a str, op: Op) -> Ctx<'a> {
        Ctx {
            bucket: &self.bucket,
            key,
            op,
            endpoint: self.endpoint.as_deref(),
            backend: self.backend_name,
        }
    }
}

#[async_trait]
impl Store for S3Store {
    fn backend(&self) -> &'static str {
        self.backend_name
    }

    fn location(&self) -> String {
        match &self.endpoint {
            Some(ep) => format!("bucket '{}' at {ep}", self.bucket),
            None => format!("bucket '{}' on AWS S3 ({})", self.bucket, self.region),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_create: true,
            compare_and_swap: true,
            server_last_modified: true,
            user_metadata: true,
        }
    }

    async fn ensure_bucket(&self) -> StoreResult<BucketSetup> {
        let ctx = self.ctx("", Op::Bucket);
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => {
                return Ok(BucketSetup {
                    created: false,
                    notes: vec![],
                });
            }
            Err(e) => match map_error(e, &ctx) {
                StoreError::BucketMissing { .. } | StoreError::NotFound { .. } => {}
                other => return Err(other),
            },
        }
        let mut req = self.client.create_bucket().bucket(&self.bucket);
        // AWS wants the region spelled out except for us-east-1; other stores may reject it.
        if self.endpoint.is_none() && self.region != "us-east-1" {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(self.region.as_str().into())
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => Ok(BucketSetup {
                created: true,
                notes: vec![],
            }),
            Err(e) => match map_error(e, &ctx) {
                // Lost a race with ourselves or another agent of ours: the bucket is there.
                StoreError::AlreadyExists { .. } => Ok(BucketSetup {
                    created: false,
                    notes: vec![],
                }),
                other => Err(other),
            },
        }
    }

    async fn get(&self, key: &str) -> StoreResult<Object> {
        Ok(self
            .get_inner(key, None, false)
            .await?
            .map(|o| o.0)
            .expect("unconditional get"))
    }

    async fn get_if_changed(
        &self,
        key: &str,
        known: Option<&Version>,
    ) -> StoreResult<Option<Object>> {
        Ok(self.get_inner(key, known, false).await?.map(|o| o.0))
    }

    async fn get_timed(&self, key: &str) -> StoreResult<Object> {
        Ok(self
            .get_inner(key, None, true)
            .await?
            .map(|o| o.0)
            .expect("unconditional get"))
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        let full = self.full(key)?;
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| map_error(e, &self.ctx(key, Op::Read)))?;
        Ok(object_meta(
            key,
            out.content_length(),
            out.last_modified(),
            out.e_tag(),
            out.metadata(),
        )
        .0)
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        check_prefix(prefix)?;
        let full_prefix = keys::scoped(&self.project, prefix);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full_prefix)
            .set_start_after(start_after.map(|s| keys::scoped(&self.project, s)))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_error(e, &self.ctx(prefix, Op::List)))?;
            for obj in page.contents() {
                let Some(rel) = obj.key().and_then(|k| keys::unscoped(&self.project, k)) else {
                    continue;
                };
                out.push(ListEntry {
                    key: rel.to_string(),
                    size: obj.size().unwrap_or(0).max(0) as u64,
                    last_modified: obj.last_modified().and_then(to_chrono),
                    version: obj.e_tag().filter(|t| !t.is_empty()).map(Version::new),
                });
            }
        }
        // S3 promises UTF-8 binary order already; sorting again costs little and protects
        // against gateways that do not.
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let full = self.full(key)?;
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match map_error(e, &self.ctx(key, Op::Delete)) {
                StoreError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        let full = self.full(key)?;
        let nonce = new_nonce();
        let mut attempt = 1;
        loop {
            match self
                .put_once(key, &full, body.clone(), &mode, opts, &nonce)
                .await
            {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && attempt < WRITE_ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    attempt += 1;
                }
                Err(e) if e.is_conflict() && attempt > 1 => {
                    return match self.landed(key, &nonce, Some(&body)).await? {
                        Some(version) => Ok(version),
                        None => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn put_stream(
        &self,
        key: &str,
        mut body: Reader,
        len: u64,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        let full = self.full(key)?;
        if len <= SINGLE_PUT_MAX {
            let mut buf = Vec::with_capacity(len as usize);
            (&mut body)
                .take(len + 1)
                .read_to_end(&mut buf)
                .await
                .map_err(|e| {
                    StoreError::transport(format!("reading upload for '{key}': {e}"), false)
                })?;
            if buf.len() as u64 != len {
                return Err(StoreError::transport(
                    format!("upload for '{key}' was {} bytes, expected {len}", buf.len()),
                    false,
                ));
            }
            return self.put(key, Bytes::from(buf), mode, opts).await;
        }
        self.multipart(key, &full, body, len, &mode, opts).await
    }

    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)> {
        let full = self.full(key)?;
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| map_error(e, &self.ctx(key, Op::Read)))?;
        let (meta, _) = object_meta(
            key,
            out.content_length(),
            out.last_modified(),
            out.e_tag(),
            out.metadata(),
        );
        Ok((meta, Box::pin(out.body.into_async_read())))
    }
}

/// The metadata of a GET or HEAD response, and the writer's nonce kept apart from the
/// user metadata it travels with.
fn object_meta(
    key: &str,
    len: Option<i64>,
    last_modified: Option<&aws_sdk_s3::primitives::DateTime>,
    etag: Option<&str>,
    metadata: Option<&std::collections::HashMap<String, String>>,
) -> (ObjectMeta, Option<String>) {
    let mut metadata = metadata.cloned().unwrap_or_default();
    let nonce = metadata.remove(NONCE_META);
    let meta = ObjectMeta {
        key: key.to_string(),
        size: len.unwrap_or(0).max(0) as u64,
        last_modified: last_modified.and_then(to_chrono),
        version: Version::new(etag.unwrap_or_default()),
        metadata: metadata.into_iter().collect(),
        server_time: None,
        // GET, HEAD and LIST report the same ETag for the same bytes.
        list_version: etag.filter(|t| !t.is_empty()).map(Version::new),
    };
    (meta, nonce)
}

fn new_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
}
