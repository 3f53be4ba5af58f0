//! Uploaded files, content-addressed by SHA-256 of their plain content, through object_store
//! (the local file system under `<data-dir>/files/` by default; an S3-compatible store for
//! clusters). The stored bytes are sealed with SM4-GCM under the current field key, a fresh
//! nonce per file (see [`FieldCipher::encrypt_bytes`]); only [`Blobs::get`] opens them, and the
//! only route that serves them checks the caller's permission first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use tongban_crypto::FieldCipher;

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    cipher: FieldCipher,
    /// Set for the local backend: files are fsynced there before a submission is acknowledged.
    local_root: Option<PathBuf>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Blobs {
    pub fn local(dir: &Path, cipher: FieldCipher) -> anyhow::Result<Self> {
        tongban_crypto::create_private_dir(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir).context("opening the file store")?;
        Ok(Self { store: Arc::new(store), cipher, local_root: Some(dir.to_path_buf()) })
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
        let cipher = self.cipher.clone();
        let sealed = tokio::task::spawn_blocking(move || cipher.encrypt_bytes(&bytes)).await.context("sealing task")?;
        self.write(&key, sealed).await
    }

    /// Writes (atomically: object_store's local backend renames a finished temporary file into
    /// place) and, on the local backend, makes the file and its folder durable, readable only by
    /// the service's user.
    async fn write(&self, key: &object_store::path::Path, sealed: Vec<u8>) -> anyhow::Result<()> {
        self.store.put(key, PutPayload::from(sealed)).await.context("storing a file")?;
        if let Some(root) = &self.local_root {
            let path = root.join(key.as_ref());
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                #[cfg(unix)]
                {
                    // The umask is 077 in the binary; these cover embedders (tests, benches).
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                    for dir in path.ancestors().skip(1).take(2) {
                        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
                    }
                }
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

    /// The plain content of a stored file (files stored in plain by earlier releases come back
    /// as they are until `tongban keys rotate` seals them).
    pub async fn get(&self, sha256: &str) -> anyhow::Result<Bytes> {
        let stored = self.store.get(&Self::key(sha256)).await.context("reading a file")?.bytes().await?;
        let cipher = self.cipher.clone();
        let plain =
            tokio::task::spawn_blocking(move || cipher.decrypt_bytes(&stored)).await.context("opening task")??;
        Ok(Bytes::from(plain))
    }

    /// Every stored file's digest (for re-encryption under a new key).
    pub async fn list(&self) -> anyhow::Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(None).try_collect().await.context("listing files")?;
        Ok(metas.into_iter().filter_map(|m| m.location.filename().map(str::to_owned)).collect())
    }

    /// Seals a file again under the current key when it is under another (or in plain);
    /// true when it was rewritten. The content (and so its address) is unchanged.
    pub async fn reseal(&self, sha256: &str) -> anyhow::Result<bool> {
        let key = Self::key(sha256);
        let stored = self.store.get(&key).await.context("reading a file")?.bytes().await?;
        if FieldCipher::file_key_of(&stored) == Some(self.cipher.current_key()) {
            return Ok(false);
        }
        let cipher = self.cipher.clone();
        let digest = sha256.to_owned();
        let sealed = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
            let plain = cipher.decrypt_bytes(&stored)?;
            anyhow::ensure!(sha256_hex(&plain) == digest, "file {digest} does not match its digest");
            Ok(cipher.encrypt_bytes(&plain))
        })
        .await
        .context("sealing task")??;
        self.write(&key, sealed).await?;
        Ok(true)
    }
}
