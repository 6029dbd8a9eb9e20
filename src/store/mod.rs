//! The storage contract every command talks to: byte objects under project-relative
//! string keys, with three write modes (overwrite, create-once, compare-and-swap), typed
//! errors and declared capabilities. Each backend lives in its own file and maps its own
//! errors into [`StoreError`] in one place; nothing backend-specific crosses this module.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::io::AsyncRead;

pub mod counting;
#[cfg(test)]
pub mod fake;
pub mod fs;
#[cfg(feature = "hf")]
pub mod hf;
#[cfg(feature = "s3")]
pub mod s3;

mod error;
pub use error::{StoreError, StoreResult};

/// An opaque token naming one stored state of an object (an S3 ETag, a content hash).
/// Only equality is meaningful.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    pub fn new(raw: impl Into<String>) -> Self {
        Version(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What `get` and `head` report about one object.
#[derive(Clone, Debug)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    /// The store's own clock when it wrote the object, where the backend keeps one.
    pub last_modified: Option<DateTime<Utc>>,
    pub version: Version,
    /// User metadata, on backends that keep it (see [`Capabilities::user_metadata`]).
    pub metadata: BTreeMap<String, String>,
    /// The store's own clock when it answered (an HTTP `Date`), where the backend sends
    /// one; with `last_modified` it measures an object's age without the caller's clock.
    pub server_time: Option<DateTime<Utc>>,
    /// The version a listing reports for exactly the bytes read ([`ListEntry::version`]),
    /// where the backend can tell it from the same response: what the document cache keys
    /// a body by. `None` where body and metadata come from separate requests.
    pub list_version: Option<Version>,
}

/// One row of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    pub key: String,
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
    /// What the listing says about the object's content, at no extra cost: it changes
    /// whenever the content does (S3: the ETag; fs: inode, size and modification time of
    /// the file, which every write replaces; Hugging Face: the Xet hash). Comparable only
    /// with other listing versions and [`ObjectMeta::list_version`], not with
    /// [`ObjectMeta::version`]. `None` where the backend's listing carries nothing usable.
    pub version: Option<Version>,
}

#[cfg(test)]
impl ListEntry {
    /// A listed key with nothing else known, for tests of code that reads keys only.
    pub fn bare(key: &str) -> ListEntry {
        ListEntry {
            key: key.to_string(),
            size: 1,
            last_modified: None,
            version: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Object {
    pub meta: ObjectMeta,
    pub body: Bytes,
}

/// How a `put` treats an object that may already exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Write only if the key does not exist; otherwise [`StoreError::AlreadyExists`].
    Create,
    /// Write only if the object still has this version; otherwise
    /// [`StoreError::PreconditionFailed`] (also when the key is gone).
    UpdateIfVersion(Version),
}

impl PutMode {
    pub fn name(&self) -> &'static str {
        match self {
            PutMode::Overwrite => "overwrite",
            PutMode::Create => "create",
            PutMode::UpdateIfVersion(_) => "update-if-version",
        }
    }
}

/// Optional attributes of a write.
#[derive(Clone, Debug, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl PutOptions {
    pub fn json() -> Self {
        PutOptions {
            content_type: Some("application/json".into()),
            metadata: BTreeMap::new(),
        }
    }
}

/// What a backend can promise. Commands consult this instead of guessing; a backend
/// that lacks a capability refuses the matching mode with [`StoreError::NotSupported`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Capabilities {
    /// `PutMode::Create` is atomic: of concurrent creators exactly one succeeds.
    pub atomic_create: bool,
    /// `PutMode::UpdateIfVersion` is an atomic compare-and-swap.
    pub compare_and_swap: bool,
    /// `last_modified` comes from the store's clock, not the writer's.
    pub server_last_modified: bool,
    /// `PutOptions::metadata` is kept and returned by `get`/`head`.
    pub user_metadata: bool,
}

/// A streamed object body.
pub type Reader = Pin<Box<dyn AsyncRead + Send>>;

/// The result of making sure the bucket exists (at `init`).
#[derive(Clone, Debug)]
pub struct BucketSetup {
    /// True when this call created the bucket.
    pub created: bool,
    /// Backend-specific facts worth showing, e.g. the visibility read back from the Hub.
    pub notes: Vec<String>,
}

#[async_trait]
pub trait Store: Send + Sync {
    /// Short backend name: `fs`, `s3` or `hf`.
    fn backend(&self) -> &'static str;

    /// Where the data lives, for humans: bucket and endpoint or directory.
    fn location(&self) -> String;

    fn capabilities(&self) -> Capabilities;

    /// Creates the bucket when missing; fails when it exists but is not ours.
    async fn ensure_bucket(&self) -> StoreResult<BucketSetup>;

    async fn get(&self, key: &str) -> StoreResult<Object>;

    /// `get`, with [`ObjectMeta::server_time`] filled in where the backend can report the
    /// store's time of answering (it costs a little per request on S3, so plain reads
    /// leave it out). Lease judgements read claims with this.
    async fn get_timed(&self, key: &str) -> StoreResult<Object> {
        self.get(key).await
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta>;

    /// Like `get`, but `Ok(None)` when the object still has version `known`. Backends with
    /// conditional GETs (`If-None-Match`) answer that without sending the body.
    async fn get_if_changed(
        &self,
        key: &str,
        known: Option<&Version>,
    ) -> StoreResult<Option<Object>> {
        let obj = self.get(key).await?;
        Ok((known != Some(&obj.meta.version)).then_some(obj))
    }

    /// Every key that starts with `prefix` (a raw string prefix, as in S3), strictly after
    /// `start_after` when given, sorted by key. Paging is the backend's business.
    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>>;

    /// Deletes the key; a missing key is not an error.
    async fn delete(&self, key: &str) -> StoreResult<()>;

    /// Writes a small body held in memory; returns the new version.
    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version>;

    /// Writes `len` bytes read from `body` without holding them all in memory.
    async fn put_stream(
        &self,
        key: &str,
        body: Reader,
        len: u64,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version>;

    /// Opens an object for streaming reads.
    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)>;
}

/// Rejects keys that could escape the project or that no backend can store the same way:
/// empty keys or segments, `.`/`..` segments, a leading `/`, backslashes and control
/// characters. Keys come from [`crate::keys`], so a failure here is a bug or bad input.
pub fn check_key(key: &str) -> StoreResult<()> {
    let bad = |why: &str| {
        Err(StoreError::InvalidKey {
            key: key.to_string(),
            reason: why.to_string(),
        })
    };
    if key.is_empty() {
        return bad("empty key");
    }
    if key.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if key.chars().any(|c| c == '\\' || c.is_control()) {
        return bad("backslash or control character");
    }
    for segment in key.split('/') {
        match segment {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("relative path segment"),
            _ => {}
        }
    }
    Ok(())
}

/// Like [`check_key`] for listing prefixes, which may be empty or end with `/`.
pub fn check_prefix(prefix: &str) -> StoreResult<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_key(prefix.strip_suffix('/').unwrap_or(prefix)).map_err(|e| match e {
        StoreError::InvalidKey { reason, .. } => StoreError::InvalidKey {
            key: prefix.to_string(),
            reason,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_are_rejected() {
        for bad in [
            "", "/a", "a/", "a//b", "../x", "a/../b", "a/./b", "a\\b", "a\nb", ".",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} should be rejected");
        }
        for good in [
            "a",
            "steps/x/claim.json",
            "memory/_history/a/b.json",
            ".a/b",
        ] {
            check_key(good).unwrap();
        }
    }

    #[test]
    fn prefixes_may_be_empty_or_end_with_a_slash() {
        check_prefix("").unwrap();
        check_prefix("messages/bob/").unwrap();
        check_prefix("memory/des").unwrap();
        assert!(check_prefix("../").is_err());
        assert!(check_prefix("a//").is_err());
    }
}
