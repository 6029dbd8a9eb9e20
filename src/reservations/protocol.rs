//! The round every change to the index runs: read it with the store's clock, let the
//! caller decide, write by compare-and-swap (or a checked overwrite without conditional
//! writes), and after a conflict read back whether the write landed anyway, for up to
//! `ATTEMPTS` rounds with a growing random pause between them.

use std::time::{Duration, Instant};

use super::index::{Index, Snapshot};
use super::{ATTEMPTS, ReservationError, Reservations, Result};
use crate::app::{decode, encode};
use crate::keys;
use crate::store::{PutMode, PutOptions, StoreError};
use crate::time;

/// One round's decision: nothing to write, or the next index and how to recognise, in an
/// index read back later, that it landed.
pub(super) enum Plan<T> {
    Done(T),
    Write {
        next: Index,
        result: T,
        landed: Box<dyn Fn(&Index) -> bool + Send + Sync>,
    },
}

impl Reservations<'_> {
    pub(super) async fn read(&self) -> Result<Snapshot> {
        let store_clock = self.store.capabilities().server_last_modified;
        let key = keys::reservations_index();
        match self.store.get_timed(&key).await {
            Ok(obj) => {
                let index: Index = decode(&key, &obj.body)?;
                let server = obj.meta.server_time.filter(|_| store_clock);
                Ok(Snapshot {
                    index,
                    version: Some(obj.meta.version),
                    store_now: server.unwrap_or_else(time::now),
                    read_at: Instant::now(),
                })
            }
            Err(StoreError::NotFound { .. }) => Ok(Snapshot {
                index: Index::default(),
                version: None,
                store_now: time::now(),
                read_at: Instant::now(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates the missing index empty, so that every expiry is stamped from a read that
    /// carried the store's clock. Losing that race to another creator is fine.
    async fn create_empty(&self, snap: &Snapshot) -> Result<()> {
        let mut empty = Index::default();
        snap.stamp(&mut empty);
        let key = keys::reservations_index();
        match self
            .store
            .put(&key, encode(&empty), PutMode::Create, &PutOptions::json())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_conflict() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The read-decide-write loop every change runs.
    pub(super) async fn update<T>(
        &self,
        mut decide: impl FnMut(&Snapshot) -> Plan<T>,
    ) -> Result<T> {
        let key = keys::reservations_index();
        let exact = self.exact();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                pause(attempt).await;
            }
            let snap = self.read().await?;
            let (next, result, landed) = match decide(&snap) {
                Plan::Done(result) => return Ok(result),
                Plan::Write {
                    next,
                    result,
                    landed,
                } => (next, result, landed),
            };
            let mode = match (&snap.version, exact) {
                (Some(v), true) => PutMode::UpdateIfVersion(v.clone()),
                // The project's first reservation: create the index, then decide again.
                (None, true) => {
                    self.create_empty(&snap).await?;
                    continue;
                }
                (_, false) => PutMode::Overwrite,
            };
            match self
                .store
                .put(&key, encode(&next), mode, &PutOptions::json())
                .await
            {
                Ok(_) if exact => return Ok(result),
                // Best-effort: another writer may have overwritten it at once.
                Ok(_) => {}
                // Lost, or landed with its response lost: the index read back says which.
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e.into()),
            }
            if landed(&self.read().await?.index) {
                return Ok(result);
            }
        }
        Err(ReservationError::Unsettled)
    }
}

/// A short random pause before another round, growing with the rounds, so writers that
/// keep colliding spread out.
async fn pause(attempt: u32) {
    let spread = 5 + 10 * u64::from(attempt.min(10));
    let jitter = u64::from(uuid::Uuid::new_v4().as_u128() as u16) % spread;
    tokio::time::sleep(Duration::from_millis(2 + jitter)).await;
}
