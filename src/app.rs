//! What every command after `init` shares: the loaded config, the opened store, the
//! printer, typed reads and writes of JSON documents (a corrupt document is an error that
//! names its key), and the presence refresh that rides along with writing commands.

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::DocCache;
use crate::config::Config;
use crate::docs::Agent;
use crate::ids;
use crate::keys;
use crate::output::Printer;
use crate::store::{ObjectMeta, PutMode, PutOptions, Store, StoreError, Version};
use crate::time;

/// Presence records younger than this are not rewritten just to refresh the heartbeat.
const PRESENCE_FRESH: Duration = Duration::from_secs(60);
/// Small documents (message bodies, claims, presence records, history snapshots) fetched
/// at once when a command reads many: 1,000 of them cost about 32 round trips.
pub const FETCH_CONCURRENCY: usize = 32;
/// Agents whose heartbeat is older than this are shown as stale.
pub const STALE_AFTER: Duration = Duration::from_secs(300);

/// A stored document that is not the JSON it should be.
#[derive(Debug, thiserror::Error)]
#[error("corrupt document at '{key}': {message}")]
pub struct CorruptDocument {
    pub key: String,
    pub message: String,
}

/// A document read from the store, with the version it was read at.
#[derive(Clone, Debug)]
pub struct Doc<T> {
    pub value: T,
    pub meta: ObjectMeta,
}

impl<T> Doc<T> {
    pub fn version(&self) -> &Version {
        &self.meta.version
    }
}

pub struct App {
    pub config: Config,
    pub store: Box<dyn Store>,
    pub printer: Printer,
}

impl App {
    /// Loads the config and opens its store; the agent id must be valid (exit 2 if not).
    pub async fn open(printer: &Printer) -> anyhow::Result<App> {
        let loaded = Config::load()?;
        ids::check_agent(&loaded.config.agent_id)?;
        ids::check_project(&loaded.config.project)?;
        printer.debug(format!("config: {}", loaded.path.display()));
        let store = loaded.config.open_store().await?;
        Ok(App {
            config: loaded.config,
            store,
            printer: *printer,
        })
    }

    pub fn agent(&self) -> &str {
        &self.config.agent_id
    }

    /// The local document cache of one area of this project (see [`crate::cache`]).
    pub fn doc_cache(&self, area: &str) -> DocCache {
        DocCache::open(self.store.as_ref(), &self.config.project, area)
    }

    /// Writes back a cache this command used; a failure only costs the next call reads.
    pub fn save_cache(&self, cache: &mut DocCache) {
        self.printer.debug(format!(
            "cache: {} document(s) from the cache, {} fetched",
            cache.hits, cache.fetched
        ));
        if let Err(e) = cache.save() {
            self.printer.debug(format!("cache not saved: {e}"));
        }
    }

    /// Reads and decodes the document at `key`; `None` when there is none.
    pub async fn read<T: DeserializeOwned>(&self, key: &str) -> anyhow::Result<Option<Doc<T>>> {
        match self.store.get(key).await {
            Ok(obj) => Ok(Some(Doc {
                value: decode(key, &obj.body)?,
                meta: obj.meta,
            })),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn write<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        mode: PutMode,
    ) -> Result<Version, StoreError> {
        self.store
            .put(key, encode(value), mode, &PutOptions::json())
            .await
    }

    /// Refreshes `agents/<me>.json`: `step` is `Some(new)` when the command changes the
    /// agent's current step. Skipped when the record is fresh and already says the same.
    /// Failures are reported with `-v` only: presence never fails a command.
    pub async fn refresh_presence(&self, step: Option<Option<String>>, summary: Option<String>) {
        if let Err(e) = self.try_refresh_presence(|_| step, summary).await {
            self.printer.debug(format!("presence not refreshed: {e:#}"));
        }
    }

    /// Refreshes presence after the agent let go of `sid` (completed or released it): the
    /// current step is cleared only if it still is `sid`, since the agent may have claimed
    /// another step since (and `heartbeat` watches the step the record names).
    pub async fn refresh_presence_leaving(&self, sid: &str) {
        let leave = |agent: Option<&Agent>| {
            agent
                .is_some_and(|a| a.step.as_deref() == Some(sid))
                .then_some(None)
        };
        if let Err(e) = self.try_refresh_presence(leave, None).await {
            self.printer.debug(format!("presence not refreshed: {e:#}"));
        }
    }

    async fn try_refresh_presence(
        &self,
        step: impl FnOnce(Option<&Agent>) -> Option<Option<String>>,
        summary: Option<String>,
    ) -> anyhow::Result<()> {
        let existing = self.presence().await?;
        let step = step(existing.as_ref());
        if let Some(agent) = &existing {
            let fresh = agent
                .heartbeat
                .as_deref()
                .and_then(time::parse)
                .is_some_and(|t| {
                    (time::now() - t)
                        .to_std()
                        .is_ok_and(|age| age < PRESENCE_FRESH)
                });
            let same_step = step.as_ref().is_none_or(|s| *s == agent.step);
            if fresh && same_step && summary.is_none() && agent.status == "active" {
                return Ok(());
            }
        }
        self.put_presence(existing, step, summary).await?;
        Ok(())
    }

    /// The caller's presence record, if it has a readable one.
    pub async fn presence(&self) -> anyhow::Result<Option<Agent>> {
        match self.read::<Agent>(&keys::agent(self.agent())).await {
            Ok(doc) => Ok(doc.map(|d| d.value)),
            // A corrupt record is replaced rather than kept failing every command.
            Err(e) if e.downcast_ref::<CorruptDocument>().is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the caller's presence record now, updated from `existing`; returns the
    /// heartbeat written.
    pub async fn put_presence(
        &self,
        existing: Option<Agent>,
        step: Option<Option<String>>,
        summary: Option<String>,
    ) -> anyhow::Result<String> {
        let now_iso = time::now_iso();
        let mut agent = existing.unwrap_or_else(|| Agent {
            id: self.agent().to_string(),
            status: "active".into(),
            step: None,
            started_at: Some(now_iso.clone()),
            heartbeat: None,
            summary: None,
            extra: Default::default(),
        });
        agent.id = self.agent().to_string();
        agent.status = "active".into();
        agent.heartbeat = Some(now_iso.clone());
        if let Some(step) = step {
            agent.step = step;
        }
        if summary.is_some() {
            agent.summary = summary;
        }
        agent.summary.get_or_insert_with(String::new);
        self.write(&keys::agent(self.agent()), &agent, PutMode::Overwrite)
            .await?;
        Ok(now_iso)
    }
}

pub fn encode<T: Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("documents serialise"))
}

pub fn decode<T: DeserializeOwned>(key: &str, body: &[u8]) -> Result<T, CorruptDocument> {
    serde_json::from_slice(body).map_err(|e| CorruptDocument {
        key: key.to_string(),
        message: e.to_string(),
    })
}
