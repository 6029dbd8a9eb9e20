//! The configuration file of contract section 4: its fields, where it is looked up, how it
//! is written (mode 0600 from the moment it exists, replaced atomically), and how it opens
//! the configured store.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::store::Store;
use crate::store::fs::FsStore;

pub const LOCAL_FILE: &str = ".tracecraft.json";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Fs,
    S3,
    Hf,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Fs => "fs",
            BackendKind::S3 => "s3",
            BackendKind::Hf => "hf",
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// Missing means `s3`, as in the Python tool's files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendKind>,
    pub bucket: String,
    pub project: String,
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hf_token: Option<String>,
    /// hf backend: the S3 gateway URL when gateway keys are set (default
    /// `https://s3.hf.co/<namespace>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_endpoint: Option<String>,
    /// The lease `claim` takes without `--ttl`: `"10m"`, or a number of seconds. Absent:
    /// claims never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_ttl: Option<TtlSetting>,
    /// The TTL `reserve` takes without `--ttl` (contract section 12): `"30m"`, or a number
    /// of seconds. Absent: one hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserve_ttl: Option<TtlSetting>,
    /// `true`: the `stop` and `session-end` hooks mirror the session transcript.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror_sessions: Option<bool>,
    /// Fields written by other versions or the Python tool survive a rewrite.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error(
        "no tracecraft config found (looked for {LOCAL_FILE} here and in parent directories, and ~/.tracecraft/config.json)"
    )]
    Missing,
    #[error("cannot read config {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write config {path}: {source}")]
    Unwritable {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl ConfigError {
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            ConfigError::Missing => Some("run `tracecraft init` in your project directory first"),
            ConfigError::Invalid { .. } => Some("fix the file, or run `tracecraft init` again"),
            _ => None,
        }
    }
}

/// A loaded config and the file it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub path: PathBuf,
}

/// A TTL as a config file may hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TtlSetting {
    Seconds(u64),
    Text(String),
}

impl Config {
    pub fn backend_kind(&self) -> BackendKind {
        self.backend.unwrap_or(BackendKind::S3)
    }

    /// The configured default lease, checked.
    pub fn claim_ttl(&self) -> Result<Option<std::time::Duration>, crate::outcome::UsageError> {
        match &self.claim_ttl {
            None => Ok(None),
            Some(TtlSetting::Seconds(n)) => crate::lease::parse_ttl(&n.to_string()).map(Some),
            Some(TtlSetting::Text(t)) => crate::lease::parse_ttl(t).map(Some),
        }
        .map_err(|mut e| {
            e.message = format!("claim_ttl in the config: {}", e.message);
            e
        })
    }

    /// The configured default reservation TTL, checked; one hour when unset.
    pub fn reserve_ttl(&self) -> Result<std::time::Duration, crate::outcome::UsageError> {
        match &self.reserve_ttl {
            None => Ok(crate::reservations::DEFAULT_TTL),
            Some(TtlSetting::Seconds(n)) => crate::lease::parse_ttl(&n.to_string()),
            Some(TtlSetting::Text(t)) => crate::lease::parse_ttl(t),
        }
        .map_err(|mut e| {
            e.message = format!("reserve_ttl in the config: {}", e.message);
            e
        })
    }

    /// Finds and reads the config: `TRACECRAFT_CONFIG`, else the nearest `.tracecraft.json`
    /// from the current directory up, else `~/.tracecraft/config.json`. The agent id is
    /// overridden by `TRACECRAFT_AGENT`.
    pub fn load() -> Result<Loaded, ConfigError> {
        let path = locate().ok_or(ConfigError::Missing)?;
        let text = std::fs::read_to_string(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::Missing
            } else {
                ConfigError::Unreadable {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let mut config: Config = serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if let Some(agent) = std::env::var("TRACECRAFT_AGENT")
            .ok()
            .filter(|a| !a.is_empty())
        {
            config.agent_id = agent;
        }
        Ok(Loaded { config, path })
    }

    /// Writes the config to `path` with mode 0600: the bytes go to a temp file created
    /// with that mode, which then replaces `path` in one rename.
    pub fn write(&self, path: &Path) -> Result<(), ConfigError> {
        let fail = |source| ConfigError::Unwritable {
            path: path.to_path_buf(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(fail)?;
        let tmp = dir.join(format!(
            ".tracecraft-config-{}.tmp",
            uuid::Uuid::new_v4().simple()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let result = (|| {
            let mut file = options.open(&tmp)?;
            let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
            text.push('\n');
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(fail)
    }

    /// The fs backend's root: the configured one, else `$XDG_DATA_HOME/tracecraft`, else
    /// `~/.local/share/tracecraft`.
    pub fn fs_root(&self) -> PathBuf {
        if let Some(root) = &self.root {
            return PathBuf::from(root);
        }
        default_fs_root()
    }

    /// Opens the configured store, scoped to the project.
    pub async fn open_store(&self) -> anyhow::Result<Box<dyn Store>> {
        let store: Box<dyn Store> = match self.backend_kind() {
            BackendKind::Fs => Box::new(FsStore::new(self.fs_root(), &self.bucket, &self.project)),
            BackendKind::S3 => self.open_s3().await?,
            BackendKind::Hf => self.open_hf().await?,
        };
        // Every request of every command is counted here, once, whatever the backend.
        Ok(crate::store::counting::Counting::wrap(store))
    }

    #[cfg(feature = "s3")]
    async fn open_s3(&self) -> anyhow::Result<Box<dyn Store>> {
        use crate::store::s3::{S3Settings, S3Store};
        Ok(Box::new(
            S3Store::connect(S3Settings {
                bucket: self.bucket.clone(),
                project: self.project.clone(),
                endpoint: self.endpoint.clone(),
                region: self.region.clone(),
                profile: self.profile.clone(),
                access_key: self.access_key.clone(),
                secret_key: self.secret_key.clone(),
                force_path_style: false,
                backend_name: "s3",
            })
            .await?,
        ))
    }

    #[cfg(not(feature = "s3"))]
    async fn open_s3(&self) -> anyhow::Result<Box<dyn Store>> {
        anyhow::bail!("this build of tracecraft has no S3 support (built without the `s3` feature)")
    }

    #[cfg(feature = "hf")]
    pub fn hf_settings(&self, private: bool) -> crate::store::hf::HfSettings {
        use crate::store::hf::{HfGateway, HfSettings};
        let namespace = self.bucket.split('/').next().unwrap_or_default();
        let gateway = match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => Some(HfGateway {
                endpoint: self
                    .gateway_endpoint
                    .clone()
                    .unwrap_or_else(|| format!("https://s3.hf.co/{namespace}")),
                access_key: ak.clone(),
                secret_key: sk.clone(),
            }),
            _ => None,
        };
        HfSettings {
            bucket_id: self.bucket.clone(),
            project: self.project.clone(),
            token: self
                .hf_token
                .clone()
                .or_else(|| std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty())),
            endpoint: self.endpoint.clone(),
            private,
            gateway,
        }
    }

    #[cfg(feature = "hf")]
    async fn open_hf(&self) -> anyhow::Result<Box<dyn Store>> {
        Ok(crate::store::hf::open(self.hf_settings(true)).await?)
    }

    #[cfg(not(feature = "hf"))]
    async fn open_hf(&self) -> anyhow::Result<Box<dyn Store>> {
        anyhow::bail!(
            "this build of tracecraft has no Hugging Face support (built without the `hf` feature)"
        )
    }
}

pub fn default_fs_root() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("tracecraft");
    }
    home_dir().join(".local/share/tracecraft")
}

pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// The OS user name, as the Python tool's `getpass.getuser()` finds it: `LOGNAME`, `USER`,
/// `LNAME`, `USERNAME`, then the password database entry of the real user id (containers,
/// cron and systemd units often set none of the variables).
pub fn os_user() -> Option<String> {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .into_iter()
        .find_map(|var| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .or_else(passwd_user)
}

#[cfg(unix)]
fn passwd_user() -> Option<String> {
    use std::ffi::CStr;
    // SAFETY: getpwuid_r writes only into `pwd` and `buf`, whose sizes it is given; the
    // name it points to lives in `buf`, which outlives the read below.
    unsafe {
        let uid = libc::getuid();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found);
        if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = CStr::from_ptr(pwd.pw_name).to_str().ok()?;
        (!name.is_empty()).then(|| name.to_string())
    }
}

#[cfg(not(unix))]
fn passwd_user() -> Option<String> {
    None
}

pub fn global_path() -> PathBuf {
    home_dir().join(".tracecraft").join("config.json")
}

fn locate() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRACECRAFT_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let cwd = std::env::current_dir().ok()?;
    for dir in cwd.ancestors() {
        let candidate = dir.join(LOCAL_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    let global = global_path();
    global.is_file().then_some(global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_backend_means_s3_and_unknown_fields_survive() {
        let text = r#"{"bucket":"b","project":"p","agent_id":"a","future":1}"#;
        let config: Config = serde_json::from_str(text).unwrap();
        assert_eq!(config.backend_kind(), BackendKind::S3);
        let back = serde_json::to_value(&config).unwrap();
        assert_eq!(back["future"], 1);
        assert!(back.get("root").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn written_config_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        let config = Config {
            backend: Some(BackendKind::Fs),
            bucket: "b".into(),
            project: "p".into(),
            agent_id: "a".into(),
            ..Config::default()
        };
        config.write(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
    }
}
