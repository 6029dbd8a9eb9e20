//! A test double of the storage contract for protocol unit tests (claims, reservations):
//! a local store wrapped so that it can lose the response of a conditional write that
//! landed, move the store's clock forward (time is advanced, never slept), and pretend to
//! have no conditional writes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;

use super::fs::FsStore;
use super::{
    BucketSetup, Capabilities, ListEntry, Object, ObjectMeta, PutMode, PutOptions, Reader, Store,
    StoreError, StoreResult, Version,
};

pub struct Fake {
    inner: FsStore,
    /// The next conditional write lands, then reports a conflict (its response was lost
    /// and the retry found the object taken).
    pub lose_next: AtomicBool,
    /// How far the store's clock has moved past real time.
    pub advanced: Mutex<chrono::Duration>,
    /// How far it had moved when each key was last written (its `last_modified` is on the
    /// store's clock too).
    written_at: Mutex<HashMap<String, chrono::Duration>>,
    /// Declare conditional writes (false: like a native Hugging Face bucket).
    exact: bool,
}

impl Fake {
    /// A fake over a fresh local bucket under `dir`.
    pub fn new(dir: &Path, exact: bool) -> Fake {
        let store = Fake {
            inner: FsStore::new(dir, "bucket", "proj"),
            lose_next: AtomicBool::new(false),
            advanced: Mutex::new(chrono::Duration::zero()),
            written_at: Mutex::default(),
            exact,
        };
        block_on(store.ensure_bucket()).expect("a local bucket");
        store
    }

    /// Moves the store's clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        *self.advanced.lock().unwrap() += chrono::Duration::seconds(secs);
    }
}

/// Runs `f` to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[async_trait]
impl Store for Fake {
    fn backend(&self) -> &'static str {
        "fake"
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            atomic_create: self.exact,
            compare_and_swap: self.exact,
            ..self.inner.capabilities()
        }
    }
    async fn ensure_bucket(&self) -> StoreResult<BucketSetup> {
        self.inner.ensure_bucket().await
    }
    async fn get(&self, key: &str) -> StoreResult<Object> {
        let mut obj = self.inner.get(key).await?;
        let advanced = *self.advanced.lock().unwrap();
        let written = self.written_at.lock().unwrap().get(key).copied();
        obj.meta.server_time = obj.meta.server_time.map(|t| t + advanced);
        obj.meta.last_modified = obj
            .meta
            .last_modified
            .map(|t| t + written.unwrap_or_default());
        Ok(obj)
    }
    async fn get_timed(&self, key: &str) -> StoreResult<Object> {
        self.get(key).await
    }
    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        Ok(self.get(key).await?.meta)
    }
    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        self.inner.list(prefix, start_after).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }
    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        if !self.exact && mode != PutMode::Overwrite {
            return Err(StoreError::NotSupported {
                backend: "fake",
                operation: "conditional writes".into(),
            });
        }
        let conflict = match &mode {
            PutMode::Create => StoreError::AlreadyExists { key: key.into() },
            _ => StoreError::PreconditionFailed { key: key.into() },
        };
        let conditional = mode != PutMode::Overwrite;
        let version = self.inner.put(key, body, mode, opts).await?;
        let advanced = *self.advanced.lock().unwrap();
        self.written_at.lock().unwrap().insert(key.into(), advanced);
        if conditional && self.lose_next.swap(false, Ordering::SeqCst) {
            return Err(conflict);
        }
        Ok(version)
    }
    async fn put_stream(
        &self,
        key: &str,
        body: Reader,
        len: u64,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        self.inner.put_stream(key, body, len, mode, opts).await
    }
    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)> {
        self.inner.get_stream(key).await
    }
}
