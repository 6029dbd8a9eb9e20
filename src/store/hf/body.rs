//! Object bodies on their way between tracecraft and hf-hub: a streamed upload spooled to a
//! temporary file, and hf-hub's download stream read as `AsyncRead`.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures::StreamExt;
use hf_hub::repository::download::HFByteStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

use super::errors::{Ctx, Missing, map_error};
use crate::store::{Reader, StoreError, StoreResult};

/// A temporary file holding a streamed body until the upload has read it; removed on drop.
pub(super) struct Spool {
    path: PathBuf,
}

impl Spool {
    pub(super) async fn fill(key: &str, body: Reader, len: u64) -> StoreResult<Spool> {
        let spool = Spool {
            path: std::env::temp_dir().join(format!("tracecraft-hf-{}.part", uuid::Uuid::new_v4())),
        };
        let io_err = |e: io::Error| {
            StoreError::transport(
                format!("cannot spool the body of '{key}' to a temporary file: {e}"),
                false,
            )
        };
        let mut file = tokio::fs::File::create(&spool.path).await.map_err(io_err)?;
        // One byte past `len` is enough to tell a body that is too long.
        let copied = tokio::io::copy(&mut body.take(len.saturating_add(1)), &mut file)
            .await
            .map_err(io_err)?;
        file.flush().await.map_err(io_err)?;
        if copied != len {
            return Err(StoreError::transport(
                format!(
                    "the body of '{key}' is {} bytes, not the {len} announced",
                    if copied > len {
                        "more than".to_string()
                    } else {
                        copied.to_string()
                    }
                ),
                false,
            ));
        }
        Ok(spool)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Adapts hf-hub's byte stream to `AsyncRead`, failing when the body ends short.
pub(super) struct BodyReader {
    stream: HFByteStream,
    pending: Bytes,
    left: u64,
    key: String,
    bucket_id: String,
}

impl BodyReader {
    /// Reads `stream`, which must yield `size` bytes of `key`.
    pub(super) fn new(stream: HFByteStream, size: u64, key: &str, bucket_id: &str) -> BodyReader {
        BodyReader {
            stream,
            pending: Bytes::new(),
            left: size,
            key: key.to_string(),
            bucket_id: bucket_id.to_string(),
        }
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                this.left = this.left.saturating_sub(n as u64);
                return Poll::Ready(Ok(()));
            }
            match this.stream.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => this.pending = chunk,
                Poll::Ready(Some(Err(e))) => {
                    let ctx = Ctx {
                        bucket_id: &this.bucket_id,
                        missing: Missing::Key(&this.key),
                    };
                    return Poll::Ready(Err(io::Error::other(map_error(e, &ctx))));
                }
                Poll::Ready(None) if this.left > 0 => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("'{}' ended {} bytes early", this.key, this.left),
                    )));
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
            }
        }
    }
}
