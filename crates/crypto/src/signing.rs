//! The licence issuing keys: SM2 key pairs signing over SM3 with the standard distinguishing
//! identifier `1234567812345678` (GB/T 35276), signatures DER-encoded, so that any standard SM2
//! implementation (OpenSSL 3: `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt
//! distid:1234567812345678`) verifies them.
//!
//! Keys live in `<data-dir>/keys/` as PKCS#8 PEM files `licence-<key id>.pem` (mode 0600, made
//! at first start); `licence-current` names the key that signs new licences. Rotation adds a
//! key and moves `licence-current`; old keys stay, so licences they signed still verify.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use anyhow::Context;
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::Generate;
use sm2::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sm2::{PublicKey, SecretKey};

/// The standard SM2 distinguishing identifier (ENTL = 128 bits).
pub const DISTID: &str = "1234567812345678";

/// The algorithm name in signed documents.
pub const ALGORITHM: &str = "SM2-SM3";

const CURRENT_FILE: &str = "licence-current";

struct Key {
    signing: SigningKey,
    public_key_pem: String,
}

struct Ring {
    current: String,
    keys: BTreeMap<String, Key>,
}

/// The issuing keys of this installation.
pub struct KeyRing {
    dir: PathBuf,
    ring: RwLock<Ring>,
}

/// A published public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    pub key_id: String,
    pub public_key_pem: String,
    pub current: bool,
}

fn key_from_secret(secret: &SecretKey) -> anyhow::Result<(String, Key)> {
    let signing = SigningKey::new(DISTID, secret).map_err(|e| anyhow::anyhow!("SM2 signing key: {e}"))?;
    let public: PublicKey = secret.public_key();
    let public_key_pem =
        public.to_public_key_pem(LineEnding::LF).map_err(|e| anyhow::anyhow!("public key PEM: {e}"))?;
    let der = public.to_public_key_der().map_err(|e| anyhow::anyhow!("public key DER: {e}"))?;
    // The key id is derived from the public key, so it names the same key everywhere.
    let key_id =
        format!("SM2-{}", crate::sm3_hex(der.as_bytes()).chars().take(16).collect::<String>().to_ascii_uppercase());
    Ok((key_id, Key { signing, public_key_pem }))
}

fn read_dir_keys(dir: &Path) -> anyhow::Result<BTreeMap<String, Key>> {
    let mut keys = BTreeMap::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !(name.starts_with("licence-SM2-") && name.ends_with(".pem")) {
            continue;
        }
        let pem = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let secret = SecretKey::from_pkcs8_pem(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let (key_id, key) = key_from_secret(&secret)?;
        anyhow::ensure!(name == format!("licence-{key_id}.pem"), "{} does not hold key {key_id}", path.display());
        keys.insert(key_id, key);
    }
    Ok(keys)
}

/// Makes a new key pair and stores it (mode 0600); returns its id.
fn create_key(dir: &Path) -> anyhow::Result<(String, Key)> {
    let secret = SecretKey::generate();
    let (key_id, key) = key_from_secret(&secret)?;
    let pem = secret.to_pkcs8_pem(LineEnding::LF).map_err(|e| anyhow::anyhow!("private key PEM: {e}"))?;
    crate::write_private_file(&dir.join(format!("licence-{key_id}.pem")), pem.as_bytes())?;
    Ok((key_id, key))
}

/// Points `licence-current` at `key_id` atomically (write a temporary file, then rename).
fn set_current(dir: &Path, key_id: &str) -> anyhow::Result<()> {
    let tmp = dir.join(format!("{CURRENT_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    crate::write_private_file(&tmp, key_id.as_bytes())?;
    std::fs::rename(&tmp, dir.join(CURRENT_FILE)).context("switching the current licence key")?;
    Ok(())
}

impl KeyRing {
    /// Loads the keys from `<data-dir>/keys/`, creating the first one on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let dir = data_dir.join("keys");
        let mut keys = read_dir_keys(&dir)?;
        let current = match std::fs::read_to_string(dir.join(CURRENT_FILE)) {
            Ok(id) if keys.contains_key(id.trim()) => id.trim().to_owned(),
            Ok(id) => anyhow::bail!("licence-current names key {} which is not in {}", id.trim(), dir.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (key_id, key) = create_key(&dir)?;
                keys.insert(key_id.clone(), key);
                set_current(&dir, &key_id)?;
                key_id
            }
            Err(e) => return Err(e).context("reading licence-current"),
        };
        Ok(Self { dir, ring: RwLock::new(Ring { current, keys }) })
    }

    /// Adds a new key and makes it the one that signs new licences; returns its id. A server
    /// started before a rotation from the command line keeps signing with the key it loaded
    /// until restarted, but verifies with the new one at once (unknown ids reload the directory).
    pub fn rotate(&self) -> anyhow::Result<String> {
        let (key_id, key) = create_key(&self.dir)?;
        set_current(&self.dir, &key_id)?;
        let mut ring = self.ring.write().map_err(|_| anyhow::anyhow!("key ring lock poisoned"))?;
        ring.keys.insert(key_id.clone(), key);
        ring.current = key_id.clone();
        Ok(key_id)
    }

    /// Signs `payload` with the current key: (key id, DER signature).
    pub fn sign(&self, payload: &[u8]) -> anyhow::Result<(String, Vec<u8>)> {
        let ring = self.ring.read().map_err(|_| anyhow::anyhow!("key ring lock poisoned"))?;
        let key = ring.keys.get(&ring.current).context("the current licence key is missing")?;
        let signature: Signature = key.signing.try_sign(payload).map_err(|e| anyhow::anyhow!("SM2 signing: {e}"))?;
        Ok((ring.current.clone(), DerSignature::from(signature).to_vec()))
    }

    /// True when `der` is a valid signature of `payload` by the key `key_id`. Malformed input
    /// of any kind is simply not valid.
    pub fn verify(&self, key_id: &str, payload: &[u8], der: &[u8]) -> bool {
        let known = self.ring.read().map(|r| r.keys.contains_key(key_id)).unwrap_or(false);
        if !known {
            self.reload();
        }
        let Ok(ring) = self.ring.read() else { return false };
        let Some(key) = ring.keys.get(key_id) else { return false };
        verify_with(key.signing.verifying_key(), payload, der)
    }

    /// Every public key, the current one marked.
    pub fn public_keys(&self) -> Vec<PublicKeyInfo> {
        let Ok(ring) = self.ring.read() else { return Vec::new() };
        ring.keys
            .iter()
            .map(|(id, k)| PublicKeyInfo {
                key_id: id.clone(),
                public_key_pem: k.public_key_pem.clone(),
                current: *id == ring.current,
            })
            .collect()
    }

    pub fn current_key_id(&self) -> String {
        self.ring.read().map(|r| r.current.clone()).unwrap_or_default()
    }

    /// Picks up keys added by another process (a rotation from the command line).
    fn reload(&self) {
        match read_dir_keys(&self.dir) {
            Ok(keys) => {
                if let Ok(mut ring) = self.ring.write() {
                    for (id, key) in keys {
                        ring.keys.entry(id).or_insert(key);
                    }
                }
            }
            Err(e) => tracing::warn!(error = ?e, "reloading licence keys"),
        }
    }
}

/// Verifies a DER signature with a verifying key (false for malformed signatures).
pub fn verify_with(key: &VerifyingKey, payload: &[u8], der: &[u8]) -> bool {
    let Ok(der) = DerSignature::from_bytes(der) else { return false };
    let Ok(signature) = Signature::try_from(der) else { return false };
    key.verify(payload, &signature).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tongban-keys-{}", crate::random_token()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn keys_are_made_once_kept_private_and_rotated() {
        let dir = temp_dir();
        let ring = KeyRing::load_or_create(&dir).unwrap();
        let first = ring.current_key_id();
        let (id, sig) = ring.sign(b"payload").unwrap();
        assert_eq!(id, first);
        assert!(ring.verify(&id, b"payload", &sig));
        assert!(!ring.verify(&id, b"payloaD", &sig));
        assert!(!ring.verify(&id, b"payload", &sig[..sig.len() - 1]));
        assert!(!ring.verify("SM2-UNKNOWN", b"payload", &sig));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("keys").join(format!("licence-{first}.pem"))).unwrap().permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
        // A second start loads the same key.
        assert_eq!(KeyRing::load_or_create(&dir).unwrap().current_key_id(), first);
        let second = ring.rotate().unwrap();
        assert_ne!(second, first);
        let (id2, sig2) = ring.sign(b"new").unwrap();
        assert_eq!(id2, second);
        assert!(ring.verify(&first, b"payload", &sig), "old signatures still verify");
        assert!(ring.verify(&second, b"new", &sig2));
        let reloaded = KeyRing::load_or_create(&dir).unwrap();
        assert_eq!(reloaded.current_key_id(), second);
        assert_eq!(reloaded.public_keys().len(), 2);
        assert!(reloaded.public_keys().iter().all(|k| k.public_key_pem.starts_with("-----BEGIN PUBLIC KEY-----")));
        let _ = std::fs::remove_dir_all(dir);
    }
}
