//! Large writes: a body past the single-PUT limit goes up as a multipart upload, part by
//! part from the stream, and completes with the same conditional headers as a single PUT.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::io::AsyncReadExt;

use super::errors::{Op, map_error};
use super::{NONCE_META, PART_SIZE, S3Store, new_nonce};
use crate::store::{PutMode, PutOptions, Reader, Store, StoreError, StoreResult, Version};

impl S3Store {
    pub(super) async fn multipart(
        &self,
        key: &str,
        full: &str,
        mut body: Reader,
        len: u64,
        mode: &PutMode,
        opts: &PutOptions,
    ) -> StoreResult<Version> {
        let nonce = new_nonce();
        let mut create = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(full)
            .metadata(NONCE_META, &nonce);
        for (k, v) in &opts.metadata {
            create = create.metadata(k, v);
        }
        if let Some(ct) = &opts.content_type {
            create = create.content_type(ct);
        }
        let upload = create
            .send()
            .await
            .map_err(|e| map_error(e, &self.ctx(key, Op::Write)))?;
        let upload_id = upload
            .upload_id()
            .ok_or_else(|| StoreError::transport("multipart upload without an upload id", false))?
            .to_string();
        let result = self
            .upload_parts(key, full, &upload_id, &mut body, len, mode)
            .await;
        if result.is_err() {
            // Best effort: an abandoned upload only costs storage until lifecycle rules run.
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }

    async fn upload_parts(
        &self,
        key: &str,
        full: &str,
        upload_id: &str,
        body: &mut Reader,
        len: u64,
        mode: &PutMode,
    ) -> StoreResult<Version> {
        let mut parts = Vec::new();
        let mut sent = 0u64;
        let mut number = 1;
        while sent < len {
            let want = (len - sent).min(PART_SIZE as u64) as usize;
            let mut buf = vec![0u8; want];
            body.read_exact(&mut buf).await.map_err(|e| {
                StoreError::transport(format!("reading upload for '{key}': {e}"), false)
            })?;
            let out = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(buf))
                .send()
                .await
                .map_err(|e| map_error(e, &self.ctx(key, Op::Write)))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .build(),
            );
            sent += want as u64;
            number += 1;
        }
        let mut complete = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(full)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        complete = match mode {
            PutMode::Overwrite => complete,
            PutMode::Create => complete.if_none_match("*"),
            PutMode::UpdateIfVersion(v) => complete.if_match(v.as_str()),
        };
        let out = complete
            .send()
            .await
            .map_err(|e| map_error(e, &self.ctx(key, Op::Put(mode.clone()))))?;
        match out.e_tag() {
            Some(etag) => Ok(Version::new(etag)),
            None => Ok(self.head(key).await?.version),
        }
    }
}
