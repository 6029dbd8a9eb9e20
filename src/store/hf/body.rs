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
            let actual = if copied > len {
                format!("longer than the {len} bytes announced")
            } else {
                format!("{copied} bytes, not the {len} announced")
            };
            return Err(StoreError::transport(
                format!("the body of '{key}' is {actual}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> HFByteStream {
        let items: Vec<hf_hub::HFResult<Bytes>> =
            parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::new(futures::stream::iter(items))
    }

    #[tokio::test]
    async fn the_reader_yields_every_chunk_through_a_small_buffer() {
        let mut reader = BodyReader::new(chunks(&[b"hel", b"", b"lo world"]), 11, "k", "a/b");
        let mut small = [0u8; 4];
        let mut out = Vec::new();
        loop {
            let n = reader.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&small[..n]);
        }
        assert_eq!(out, b"hello world");
    }

    #[tokio::test]
    async fn a_body_that_ends_early_is_an_error_not_a_short_read() {
        let mut reader = BodyReader::new(chunks(&[b"hel"]), 5, "k", "a/b");
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn the_spool_holds_exactly_len_bytes_and_goes_away() {
        let spool = Spool::fill("k", Box::pin(io::Cursor::new(vec![7u8; 1000])), 1000)
            .await
            .unwrap();
        let path = spool.path().to_path_buf();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 1000]);
        drop(spool);
        assert!(!path.exists());

        for (actual, announced) in [(999usize, 1000u64), (1001, 1000)] {
            let body = Box::pin(io::Cursor::new(vec![7u8; actual]));
            let err = Spool::fill("k", body, announced).await.err().unwrap();
            assert!(!err.is_retryable(), "{err}");
        }
    }
}
