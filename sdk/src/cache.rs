//! The on-disk cache of configs, so a client can start while the platform is unreachable.
//!
//! One JSON file per (project, queue, role), written to a temporary file and renamed into place
//! so a crash never leaves half a file. The files hold the cluster's SASL credentials (and TLS
//! client key, where it has one), so on Unix they are readable by their owner only.

use crate::wire::{SdkConfig, SdkRole};
use crate::SdkError;
use std::path::{Path, PathBuf};

/// Configs cached under one directory.
#[derive(Debug, Clone)]
pub struct ConfigCache {
    dir: PathBuf,
}

impl ConfigCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn path(&self, project: &str, queue: &str, role: SdkRole) -> PathBuf {
        let safe = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        self.dir
            .join(format!("{}.{}.{role}.json", safe(project), safe(queue)))
    }

    /// The cached config, if one was stored and still reads.
    pub async fn load(&self, project: &str, queue: &str, role: SdkRole) -> Option<SdkConfig> {
        let bytes = tokio::fs::read(self.path(project, queue, role))
            .await
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a config the platform answered.
    pub async fn store(&self, config: &SdkConfig, role: SdkRole) -> Result<(), SdkError> {
        let path = self.path(&config.project, &config.queue, role);
        let failed = |e: std::io::Error| SdkError::Cache {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        tokio::fs::create_dir_all(&self.dir).await.map_err(failed)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let bytes = serde_json::to_vec_pretty(config).unwrap_or_default();
        write_private(&tmp, &bytes).await.map_err(failed)?;
        tokio::fs::rename(&tmp, &path).await.map_err(failed)
    }
}

async fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(bytes).await?;
    file.sync_all().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::SdkCluster;

    fn config() -> SdkConfig {
        SdkConfig {
            project: "shop".into(),
            queue: "orders".into(),
            cluster: SdkCluster {
                name: "east".into(),
                kind: "kafka".into(),
                bootstrap_servers: vec!["127.0.0.1:9092".into()],
                sasl_mechanism: "PLAIN".into(),
                sasl_username: "u".into(),
                sasl_password: Some("secret".into()),
                tls: None,
            },
            topic: "shop.orders".into(),
            active_side: "primary".into(),
            config_version: "v1".into(),
            heartbeat_interval_secs: 60,
            recent: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_stored_config_reads_back_per_role_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ConfigCache::new(dir.path().join("nested"));
        cache.store(&config(), SdkRole::Producer).await.unwrap();
        assert_eq!(
            cache.load("shop", "orders", SdkRole::Producer).await,
            Some(config())
        );
        assert_eq!(cache.load("shop", "orders", SdkRole::Consumer).await, None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = cache.path("shop", "orders", SdkRole::Producer);
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o077,
                0,
                "only the owner may read cached credentials"
            );
        }
    }

    #[tokio::test]
    async fn a_corrupt_cache_file_counts_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ConfigCache::new(dir.path());
        std::fs::write(
            cache.path("shop", "orders", SdkRole::Consumer),
            b"{not json",
        )
        .unwrap();
        assert_eq!(cache.load("shop", "orders", SdkRole::Consumer).await, None);
    }
}
