//! Cryptographic helpers on the national algorithms: SM3 digests, SM4-GCM field encryption for
//! personal data at rest, and random tokens.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, Nonce};
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sm3::{Digest, Sm3};

type Sm4Gcm = AesGcm<sm4::Sm4, aes_gcm::aead::consts::U12>;

/// SM3 digest as lower-case hex.
pub fn sm3_hex(data: &[u8]) -> String {
    hex::encode(Sm3::digest(data))
}

/// A random URL-safe token with 256 bits of entropy (session ids, CSRF tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random password that satisfies the password policy, for administrator resets.
pub fn random_password() -> String {
    const LOWER: &[u8] = b"abcdefghjkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"@#%+=";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| set[(rng.next_u32() as usize) % set.len()] as char;
    let mut out = String::new();
    for _ in 0..3 {
        out.push(pick(UPPER));
        out.push(pick(LOWER));
        out.push(pick(LOWER));
        out.push(pick(DIGIT));
    }
    out.push(pick(SYMBOL));
    out
}

/// Encrypts personal data fields (ID numbers, phones) with SM4-GCM and computes a keyed SM3
/// digest so that an encrypted value can still be looked up for uniqueness.
#[derive(Clone)]
pub struct FieldCipher {
    cipher: Sm4Gcm,
    index_key: [u8; 16],
}

impl FieldCipher {
    pub fn from_key(key: &[u8; 32]) -> Self {
        let mut enc = [0u8; 16];
        let mut index_key = [0u8; 16];
        enc.copy_from_slice(&key[..16]);
        index_key.copy_from_slice(&key[16..]);
        Self { cipher: Sm4Gcm::new(&enc.into()), index_key }
    }

    /// Loads the key from `<data-dir>/keys/field.key`, creating it (mode 0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join("keys").join("field.key");
        let key = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).context("field.key is not hex")?;
                <[u8; 32]>::try_from(bytes.as_slice()).context("field.key must hold 32 bytes")?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private_file(&path, hex::encode(key).as_bytes())?;
                key
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(Self::from_key(&key))
    }

    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let ciphertext = self.cipher.encrypt(&Nonce::from(nonce), plaintext.as_bytes()).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        STANDARD.encode(out)
    }

    pub fn decrypt(&self, stored: &str) -> anyhow::Result<String> {
        let bytes = STANDARD.decode(stored).context("encrypted field is not base64")?;
        anyhow::ensure!(bytes.len() > 12, "encrypted field too short");
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().context("nonce")?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("encrypted field failed authentication"))?;
        String::from_utf8(plain).context("encrypted field is not UTF-8")
    }

    /// A keyed digest (a blind index): equal inputs give equal digests, and without the key
    /// the digest reveals nothing usable about the value.
    pub fn index(&self, value: &str) -> String {
        let mut h = Sm3::new();
        h.update(self.index_key);
        h.update(value.as_bytes());
        hex::encode(h.finalize())
    }
}

/// Writes a secret file readable only by the service's user.
pub fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, contents)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_matches_the_standard_test_vector() {
        // GB/T 32905-2016 example 1: "abc".
        assert_eq!(sm3_hex(b"abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    }

    #[test]
    fn field_encryption_round_trips_and_detects_tampering() {
        let c = FieldCipher::from_key(&[7u8; 32]);
        let stored = c.encrypt("11010519491231002X");
        assert_ne!(stored, c.encrypt("11010519491231002X"), "fresh nonce each time");
        assert_eq!(c.decrypt(&stored).ok().as_deref(), Some("11010519491231002X"));
        let mut bytes = STANDARD.decode(&stored).unwrap_or_default();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        assert!(c.decrypt(&STANDARD.encode(bytes)).is_err());
        assert_eq!(c.index("x"), c.index("x"));
        assert_ne!(c.index("x"), FieldCipher::from_key(&[8u8; 32]).index("x"));
    }

    #[test]
    fn random_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = random_password();
            assert!(crate::domain::password::policy_violations("admin", &p).is_empty(), "{p}");
        }
    }
}
