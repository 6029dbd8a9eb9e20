//! The Hugging Face storage-bucket backend. It owns everything that talks to the Hub about
//! buckets: creating the bucket and reading its visibility back (`ensure_bucket`), and, on
//! the native path, all object traffic through the `hf-hub` crate (Hub API for metadata
//! and listings, Xet for the bytes). The Hub API has no conditional writes, so the native
//! path refuses `Create` and `UpdateIfVersion` instead of overwriting; with a gateway
//! configured, object traffic goes through the Hub's S3 gateway and [`S3Store`] instead,
//! which has them. hf-hub errors are translated in `hf/errors.rs`; no hf-hub type leaves
//! this module.

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use hf_hub::buckets::{BucketTreeEntry, HFBucket};
use hf_hub::repository::AddSource;
use hf_hub::repository::download::HFByteStream;
use hf_hub::{HFClient, HFError};

mod body;
mod errors;
mod gateway;
mod listing;

use super::s3::{S3Settings, S3Store};
use super::{
    BucketSetup, Capabilities, ListEntry, Object, ObjectMeta, PutMode, PutOptions, Reader, Store,
    StoreError, StoreResult, Version, check_key, check_prefix,
};
use crate::keys;
use body::{BodyReader, Spool};
use errors::{Ctx, Missing, map_error, token_hint};
use gateway::GatewayStore;
use listing::{entry_time, entry_version, filter_listing, listing_dir};

const BACKEND: &str = "hf";
/// How often `get` re-reads an object whose size changed between metadata and body.
const READ_ATTEMPTS: usize = 3;

/// How to reach one Hugging Face storage bucket.
#[derive(Clone, Debug)]
pub struct HfSettings {
    /// `namespace/name`.
    pub bucket_id: String,
    /// Every key is stored under `<project>/<key>`.
    pub project: String,
    /// From the config or HF_TOKEN. When `None`, hf-hub falls back to HF_TOKEN and the
    /// token file of `hf auth login`.
    pub token: Option<String>,
    /// Hub endpoint; `None` means HF_ENDPOINT, else https://huggingface.co.
    pub endpoint: Option<String>,
    /// Visibility asked for when the bucket is created. An existing bucket keeps its own.
    pub private: bool,
    /// Send object traffic through the Hub's S3 gateway (atomic writes) instead of the Hub API.
    pub gateway: Option<HfGateway>,
}

/// Credentials and address of the Hub's S3-compatible gateway.
#[derive(Clone, Debug)]
pub struct HfGateway {
    /// See [`default_gateway_endpoint`].
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

/// The gateway address for a bucket: `https://s3.hf.co/<namespace>`, where the S3 bucket
/// name is the bucket's name part.
pub fn default_gateway_endpoint(bucket_id: &str) -> String {
    let namespace = bucket_id.split('/').next().unwrap_or(bucket_id);
    format!("https://s3.hf.co/{namespace}")
}

/// Opens the bucket named in `settings`. The Hub is not asked anything yet: a missing
/// bucket or a bad token shows up on first use (or at `ensure_bucket`).
pub async fn open(settings: HfSettings) -> StoreResult<Box<dyn Store>> {
    let hub = HfStore::new(&settings)?;
    let Some(gateway) = settings.gateway else {
        return Ok(Box::new(hub));
    };
    let objects = S3Store::connect(S3Settings {
        bucket: hub.name.clone(),
        project: settings.project.clone(),
        endpoint: Some(gateway.endpoint.clone()),
        // The gateway ignores the region but SigV4 needs one.
        region: Some("us-east-1".into()),
        profile: None,
        access_key: Some(gateway.access_key),
        secret_key: Some(gateway.secret_key),
        force_path_style: true,
        backend_name: BACKEND,
    })
    .await?;
    Ok(Box::new(GatewayStore {
        hub,
        objects,
        gateway_endpoint: gateway.endpoint,
    }))
}

/// The native path: Hub API plus Xet.
struct HfStore {
    client: HFClient,
    bucket: HFBucket,
    bucket_id: String,
    namespace: String,
    name: String,
    project: String,
    private: bool,
}

impl HfStore {
    fn new(settings: &HfSettings) -> StoreResult<HfStore> {
        let (namespace, name) = split_bucket_id(&settings.bucket_id)?;
        check_key(&settings.project)?;
        // Buckets never use hf-hub's download cache; keep it from touching ~/.cache.
        let mut builder = HFClient::builder().cache_enabled(false);
        if let Some(token) = settings.token.as_deref().filter(|t| !t.is_empty()) {
            builder = builder.token(token);
        }
        if let Some(endpoint) = settings.endpoint.as_deref().filter(|e| !e.is_empty()) {
            builder = builder.endpoint(endpoint.trim_end_matches('/'));
        }
        let client = builder.build().map_err(|e| StoreError::Transport {
            message: format!("cannot set up the Hugging Face client: {e}"),
            retryable: false,
            hint: Some("check the Hub endpoint (HF_ENDPOINT or `endpoint` in the config)".into()),
        })?;
        let bucket = client.bucket(namespace, name);
        Ok(HfStore {
            client,
            bucket,
            bucket_id: settings.bucket_id.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            project: settings.project.clone(),
            private: settings.private,
        })
    }

    fn ctx<'a>(&'a self, missing: Missing<'a>) -> Ctx<'a> {
        Ctx {
            bucket_id: &self.bucket_id,
            missing,
        }
    }

    fn error(&self, err: HFError, missing: Missing<'_>) -> StoreError {
        map_error(err, &self.ctx(missing))
    }

    async fn meta(&self, key: &str) -> StoreResult<ObjectMeta> {
        let path = keys::scoped(&self.project, key);
        let entries = self
            .bucket
            .get_paths_info()
            .paths(vec![path.clone()])
            .send()
            .await
            .map_err(|e| self.error(e, Missing::Key(key)))?;
        entries
            .into_iter()
            .find_map(|entry| match entry {
                BucketTreeEntry::File {
                    path: p,
                    size,
                    xet_hash,
                    mtime,
                    uploaded_at,
                } if p == path => Some(ObjectMeta {
                    key: key.to_string(),
                    size,
                    last_modified: entry_time(uploaded_at.as_deref(), mtime.as_deref()),
                    version: entry_version(&xet_hash, size, mtime.as_deref()),
                    metadata: Default::default(),
                    server_time: None,
                    // Metadata and body come from separate requests: the version cannot
                    // vouch for the bytes, so bodies are not cached under it.
                    list_version: None,
                }),
                _ => None,
            })
            .ok_or_else(|| StoreError::NotFound {
                key: key.to_string(),
            })
    }

    async fn body_stream(&self, key: &str, size: u64) -> StoreResult<HFByteStream> {
        // Nothing to fetch: spare the second paths-info and the Xet round trips.
        if size == 0 {
            return Ok(Box::new(futures::stream::empty()));
        }
        let (_, stream) = self
            .bucket
            .download_file_stream()
            .remote_path(keys::scoped(&self.project, key))
            .send()
            .await
            .map_err(|e| self.error(e, Missing::Key(key)))?;
        Ok(stream)
    }

    async fn upload(&self, key: &str, source: AddSource) -> StoreResult<Version> {
        let path = keys::scoped(&self.project, key);
        self.bucket
            .upload_source_files()
            .files(vec![(path, source)])
            .send()
            .await
            .map_err(|e| self.error(e, Missing::Bucket))?;
        // The upload does not report the hash it registered, so read it back. That may see
        // a concurrent writer's object instead; without conditional writes that race is
        // lost either way, and the version still names what is stored now.
        Ok(self.meta(key).await?.version)
    }

    /// Every file under `dir` (a directory or, on the Hub, a raw path prefix).
    async fn tree(&self, dir: &str) -> StoreResult<Vec<TreeFile>> {
        let stream = self
            .bucket
            .list_tree()
            .prefix(dir.to_string())
            .recursive(true)
            .send()
            .map_err(|e| self.error(e, Missing::Bucket))?;
        futures::pin_mut!(stream);
        let mut files = Vec::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(BucketTreeEntry::File {
                    path,
                    size,
                    xet_hash,
                    mtime,
                    uploaded_at,
                }) => files.push((
                    path,
                    size,
                    entry_time(uploaded_at.as_deref(), mtime.as_deref()),
                    Some(entry_version(&xet_hash, size, mtime.as_deref())),
                )),
                Ok(BucketTreeEntry::Directory { .. }) => {}
                Err(e) => {
                    return match self.error(e, Missing::Bucket) {
                        // A 404 can mean a path with nothing under it as well as a missing
                        // bucket; only the bucket's own info tells them apart.
                        StoreError::BucketMissing { .. } => match self.bucket.info().send().await {
                            Ok(_) => Ok(Vec::new()),
                            Err(e) => Err(self.error(e, Missing::Bucket)),
                        },
                        other => Err(other),
                    };
                }
            }
        }
        Ok(files)
    }
}

#[async_trait]
impl Store for HfStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn location(&self) -> String {
        format!("bucket '{}' at {}", self.bucket_id, self.client.endpoint())
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_create: false,
            compare_and_swap: false,
            // The Hub sends its upload time as `uploadedAt`, but hf-hub 1.0 reads
            // `uploaded_at` and drops it; `mtime` is whatever the writer claimed.
            server_last_modified: false,
            user_metadata: false,
        }
    }

    async fn ensure_bucket(&self) -> StoreResult<BucketSetup> {
        let created = match self
            .client
            .create_bucket()
            .namespace(&self.namespace)
            .name(&self.name)
            .private(self.private)
            .send()
            .await
        {
            Ok(_) => true,
            // Already there: creation does not touch an existing bucket's visibility.
            Err(HFError::Conflict { .. }) => false,
            Err(e) => return Err(self.error(e, Missing::Bucket)),
        };
        let info = match self.bucket.info().send().await {
            Ok(info) => info,
            Err(e) => {
                return Err(match self.error(e, Missing::Bucket) {
                    StoreError::BucketMissing { .. } if !created => StoreError::PermissionDenied {
                        message: format!(
                            "bucket '{}' exists but this token cannot see it (it belongs to \
                             someone else, or the token has no read access)",
                            self.bucket_id
                        ),
                        hint: Some(token_hint(&self.bucket_id)),
                    },
                    other => other,
                });
            }
        };
        Ok(BucketSetup {
            created,
            notes: visibility_notes(&self.bucket_id, self.private, info.private),
        })
    }

    async fn get(&self, key: &str) -> StoreResult<Object> {
        check_key(key)?;
        for _ in 0..READ_ATTEMPTS {
            let meta = self.meta(key).await?;
            let mut stream = self.body_stream(key, meta.size).await?;
            let mut body = BytesMut::with_capacity(meta.size as usize);
            while let Some(chunk) = stream.next().await {
                body.extend_from_slice(&chunk.map_err(|e| self.error(e, Missing::Key(key)))?);
            }
            // Metadata and body come from two requests; a size mismatch means a writer
            // got in between.
            if body.len() as u64 == meta.size {
                return Ok(Object {
                    meta,
                    body: body.freeze(),
                });
            }
        }
        Err(StoreError::transport(
            format!("'{key}' kept changing while it was read"),
            true,
        ))
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        check_key(key)?;
        self.meta(key).await
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        check_prefix(prefix)?;
        let full_prefix = keys::scoped(&self.project, prefix);
        let files = self.tree(listing_dir(&full_prefix)).await?;
        Ok(filter_listing(&self.project, prefix, start_after, files))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        check_key(key)?;
        // Look first: what the Hub does with a batch delete of a missing path is not
        // documented, and a 404 there would read as a missing bucket.
        match self.meta(key).await {
            Ok(_) => {}
            Err(StoreError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
        self.bucket
            .delete_files()
            .paths(vec![keys::scoped(&self.project, key)])
            .send()
            .await
            .map_err(|e| self.error(e, Missing::Bucket))
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        _opts: &PutOptions,
    ) -> StoreResult<Version> {
        check_key(key)?;
        refuse_conditional(&mode)?;
        self.upload(key, AddSource::bytes(body)).await
    }

    async fn put_stream(
        &self,
        key: &str,
        body: Reader,
        len: u64,
        mode: PutMode,
        _opts: &PutOptions,
    ) -> StoreResult<Version> {
        check_key(key)?;
        refuse_conditional(&mode)?;
        // hf-hub wants stream sources it can reopen (its repo uploads read them several
        // times), and a `Reader` reads once: spool to disk rather than hold it in memory.
        let spool = Spool::fill(key, body, len).await?;
        self.upload(key, AddSource::file(spool.path())).await
    }

    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)> {
        check_key(key)?;
        let meta = self.meta(key).await?;
        let stream = self.body_stream(key, meta.size).await?;
        let reader = BodyReader::new(stream, meta.size, key, &self.bucket_id);
        Ok((meta, Box::pin(reader)))
    }
}

fn split_bucket_id(bucket_id: &str) -> StoreResult<(&str, &str)> {
    match bucket_id.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns, name))
        }
        _ => Err(StoreError::Transport {
            message: format!("'{bucket_id}' is not a Hugging Face bucket id"),
            retryable: false,
            hint: Some("bucket ids look like 'namespace/name', e.g. 'alice/agents'".into()),
        }),
    }
}

fn refuse_conditional(mode: &PutMode) -> StoreResult<()> {
    match mode {
        PutMode::Overwrite => Ok(()),
        other => Err(StoreError::NotSupported {
            backend: BACKEND,
            operation: format!("{} writes through the Hub API", other.name()),
        }),
    }
}

fn visibility_notes(bucket_id: &str, asked_private: bool, is_private: bool) -> Vec<String> {
    let mut notes = vec![format!(
        "visibility: {}",
        if is_private { "private" } else { "public" }
    )];
    if asked_private && !is_private {
        notes.push(format!(
            "warning: bucket '{bucket_id}' is PUBLIC although a private bucket was asked for \
             (an existing bucket keeps its visibility): anyone can read what is stored there; \
             make it private in the bucket's settings on the Hub"
        ));
    } else if !asked_private && is_private {
        notes.push(format!(
            "bucket '{bucket_id}' is private although a public one was asked for (an existing \
             bucket keeps its visibility)"
        ));
    }
    notes
}

/// One file of a tree listing: path, size, time, listing version.
type TreeFile = (String, u64, Option<DateTime<Utc>>, Option<Version>);

#[cfg(test)]
mod tests;
