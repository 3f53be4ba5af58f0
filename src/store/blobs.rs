//! Uploaded files, content-addressed by SHA-256, through object_store (the local file system
//! under `<data-dir>/files/` by default; an S3-compatible store for clusters).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Set for the local backend: files are fsynced there before a submission is acknowledged.
    local_root: Option<PathBuf>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Blobs {
    pub fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir).context("opening the file store")?;
        Ok(Self { store: Arc::new(store), local_root: Some(dir.to_path_buf()) })
    }

    fn key(sha256: &str) -> object_store::path::Path {
        object_store::path::Path::from(format!(
            "{}/{}/{}",
            sha256.get(..2).unwrap_or("__"),
            sha256.get(2..4).unwrap_or("__"),
            sha256
        ))
    }

    /// Stores the bytes under their digest (a no-op when already stored) and, on the local
    /// backend, flushes them to disk so that an acknowledged upload survives power loss.
    pub async fn put(&self, sha256: &str, bytes: Bytes) -> anyhow::Result<()> {
        let key = Self::key(sha256);
        if self.store.head(&key).await.is_ok() {
            return Ok(());
        }
        self.store.put(&key, PutPayload::from_bytes(bytes)).await.context("storing a file")?;
        if let Some(root) = &self.local_root {
            let path = root.join(key.as_ref());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::File::open(&path)?.sync_all()?;
                if let Some(dir) = path.parent() {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                Ok(())
            })
            .await
            .context("flush task")?
            .context("flushing a stored file")?;
        }
        Ok(())
    }

    pub async fn get(&self, sha256: &str) -> anyhow::Result<Bytes> {
        Ok(self.store.get(&Self::key(sha256)).await.context("reading a file")?.bytes().await?)
    }
}
