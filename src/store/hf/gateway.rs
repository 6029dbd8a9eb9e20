//! The gateway path: objects through the Hub's S3 gateway (and so [`S3Store`], with its
//! atomic create and compare-and-swap), the bucket itself through the Hub API, since the
//! gateway can neither create buckets nor report their visibility.

use async_trait::async_trait;
use bytes::Bytes;

use super::{BACKEND, HfStore};
use crate::store::s3::S3Store;
use crate::store::{
    BucketSetup, Capabilities, ListEntry, Object, ObjectMeta, PutMode, PutOptions, Reader, Store,
    StoreResult, Version,
};

pub(super) struct GatewayStore {
    pub(super) hub: HfStore,
    pub(super) objects: S3Store,
    pub(super) gateway_endpoint: String,
}

#[async_trait]
impl Store for GatewayStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn location(&self) -> String {
        format!(
            "bucket '{}' through the S3 gateway at {}",
            self.hub.bucket_id, self.gateway_endpoint
        )
    }

    fn capabilities(&self) -> Capabilities {
        self.objects.capabilities()
    }

    async fn ensure_bucket(&self) -> StoreResult<BucketSetup> {
        let mut setup = self.hub.ensure_bucket().await?;
        setup.notes.push(format!(
            "objects go through the S3 gateway at {}",
            self.gateway_endpoint
        ));
        Ok(setup)
    }

    async fn get(&self, key: &str) -> StoreResult<Object> {
        self.objects.get(key).await
    }

    async fn get_timed(&self, key: &str) -> StoreResult<Object> {
        self.objects.get_timed(key).await
    }

    async fn head(&self, key: &str) -> StoreResult<ObjectMeta> {
        self.objects.head(key).await
    }

    async fn get_if_changed(
        &self,
        key: &str,
        known: Option<&Version>,
    ) -> StoreResult<Option<Object>> {
        self.objects.get_if_changed(key, known).await
    }

    async fn list(&self, prefix: &str, start_after: Option<&str>) -> StoreResult<Vec<ListEntry>> {
        self.objects.list(prefix, start_after).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.objects.delete(key).await
    }

    async fn put(
        &self,
        key: &str,
        body: Bytes,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        self.objects.put(key, body, mode, opts).await
    }

    async fn put_stream(
        &self,
        key: &str,
        body: Reader,
        len: u64,
        mode: PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        self.objects.put_stream(key, body, len, mode, opts).await
    }

    async fn get_stream(&self, key: &str) -> StoreResult<(ObjectMeta, Reader)> {
        self.objects.get_stream(key).await
    }
}
