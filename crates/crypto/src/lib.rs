//! Cryptographic helpers on the national algorithms: SM3 digests, SM4-GCM field encryption for
//! personal data at rest, and random tokens.

pub mod signing;
pub mod sm4x;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sm3::{Digest, Sm3};

use crate::sm4x::{NONCE_LEN, Sm4Gcm, TAG_LEN};

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

/// The keys that protect personal data at rest: versioned SM4-GCM keys (`keys/field-<N>.key`,
/// the highest number is current) and one HMAC-SM3 key for blind indexes (`keys/index.key`).
///
/// A stored value names the key that sealed it (`k<N>:` before the base64 of nonce and
/// ciphertext), so that during a rotation (`tongban keys rotate`) values under the old and the
/// new key are both readable. A value without that prefix was sealed by the single key of
/// earlier releases (`keys/field.key`, renamed `field-1.key` on first start).
#[derive(Clone)]
pub struct FieldCipher {
    inner: Arc<CipherInner>,
}

struct CipherInner {
    /// The keys directory; `None` for an in-memory key (tests).
    dir: Option<PathBuf>,
    /// Swapped whole by a refresh; readers clone the `Arc`, never the keys.
    keys: RwLock<Arc<KeySet>>,
    index_key: Vec<u8>,
}

/// The loaded keys; never empty.
struct KeySet {
    current: u32,
    current_cipher: Arc<Sm4Gcm>,
    ciphers: BTreeMap<u32, Arc<Sm4Gcm>>,
}

impl KeySet {
    /// The highest version is current.
    fn new(ciphers: BTreeMap<u32, Arc<Sm4Gcm>>) -> Option<Self> {
        let (&current, cipher) = ciphers.last_key_value()?;
        Some(Self { current, current_cipher: Arc::clone(cipher), ciphers })
    }
}

/// Header of an encrypted file: magic, key id (big-endian), 12-byte nonce, then ciphertext.
const FILE_MAGIC: &[u8; 4] = b"TBE1";
const FILE_HEADER: usize = 4 + 4 + 12;

type HmacSm3 = Hmac<Sm3>;

impl FieldCipher {
    /// A cipher over one in-memory key (version 1): the first half encrypts, the second keys the
    /// blind index.
    pub fn from_key(key: &[u8; 32]) -> Self {
        let cipher = Arc::new(sm4_gcm(&key[..16]));
        let keys = KeySet { current: 1, current_cipher: Arc::clone(&cipher), ciphers: BTreeMap::from([(1, cipher)]) };
        Self {
            inner: Arc::new(CipherInner {
                dir: None,
                keys: RwLock::new(Arc::new(keys)),
                index_key: key[16..].to_vec(),
            }),
        }
    }

    /// Loads the keys from `<data-dir>/keys/`, creating the directory (0700), the first field key
    /// and the index key (0600) on first start.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Self> {
        let dir = data_dir.join("keys");
        create_private_dir(&dir)?;
        let legacy = dir.join("field.key");
        let first = dir.join("field-1.key");
        if legacy.exists() && !first.exists() {
            std::fs::rename(&legacy, &first).with_context(|| format!("renaming {}", legacy.display()))?;
        }
        let index_path = dir.join("index.key");
        let index_key = match std::fs::read_to_string(&index_path) {
            Ok(text) => hex::decode(text.trim()).context("index.key is not hex")?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private_file(&index_path, hex::encode(key).as_bytes())?;
                key.to_vec()
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", index_path.display())),
        };
        anyhow::ensure!(index_key.len() >= 16, "index.key must hold at least 16 bytes");
        let mut ciphers = read_key_dir(&dir)?;
        if ciphers.is_empty() {
            new_key_file(&dir, 1)?;
            ciphers = read_key_dir(&dir)?;
        }
        let keys = KeySet::new(ciphers).with_context(|| format!("no field key in {}", dir.display()))?;
        Ok(Self { inner: Arc::new(CipherInner { dir: Some(dir), keys: RwLock::new(Arc::new(keys)), index_key }) })
    }

    fn keys(&self) -> Arc<KeySet> {
        Arc::clone(&self.inner.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Re-reads the keys directory, so that a key made by `tongban keys rotate` in another
    /// process is used by this one too (for new values, and to read values sealed under it).
    pub fn refresh(&self) -> anyhow::Result<()> {
        let Some(dir) = &self.inner.dir else { return Ok(()) };
        let keys = KeySet::new(read_key_dir(dir)?).with_context(|| format!("no field key in {}", dir.display()))?;
        *self.inner.keys.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(keys);
        Ok(())
    }

    /// Makes a new key, one above the highest, and makes it current; returns its version.
    pub fn create_key(&self) -> anyhow::Result<u32> {
        let Some(dir) = &self.inner.dir else { anyhow::bail!("an in-memory cipher has no key directory") };
        let next = read_key_dir(dir)?.keys().next_back().copied().unwrap_or(0) + 1;
        new_key_file(dir, next)?;
        self.refresh()?;
        Ok(next)
    }

    /// The version of the key new values are sealed with.
    pub fn current_key(&self) -> u32 {
        self.inner.keys.read().unwrap_or_else(std::sync::PoisonError::into_inner).current
    }

    /// The prefix of values sealed under the current key (`k3:`).
    pub fn current_prefix(&self) -> String {
        format!("k{}:", self.current_key())
    }

    fn cipher_for(&self, version: u32) -> anyhow::Result<Arc<Sm4Gcm>> {
        if let Some(c) = self.keys().ciphers.get(&version) {
            return Ok(Arc::clone(c));
        }
        // Perhaps made by a rotation since this process loaded its keys.
        self.refresh()?;
        self.keys().ciphers.get(&version).cloned().ok_or_else(|| anyhow::anyhow!("field key {version} is missing"))
    }

    fn current_cipher(&self) -> (u32, Arc<Sm4Gcm>) {
        let keys = self.keys();
        (keys.current, Arc::clone(&keys.current_cipher))
    }

    /// Seals a text under the current key.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        let version = self.seal_after(&mut out, 0, plaintext.as_bytes());
        format!("k{version}:{}", STANDARD.encode(out))
    }

    /// Appends a fresh nonce, the ciphertext of `plaintext` and the tag to `out` (which holds
    /// `header` bytes already), encrypting in place; returns the key version.
    fn seal_after(&self, out: &mut Vec<u8>, header: usize, plaintext: &[u8]) -> u32 {
        let (version, cipher) = self.current_cipher();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        // Sealing fails only past GCM's limit of 64 GiB per message, far above the upload limit;
        // the zero tag would then fail to open rather than expose anything.
        let tag = cipher.encrypt_in_place_detached(&nonce, &[], &mut out[header + NONCE_LEN..]).unwrap_or_default();
        out.extend_from_slice(&tag);
        version
    }

    /// Opens `ciphertext ‖ tag` in place; the plaintext is what remains of `sealed`. `what`
    /// names the value in errors.
    fn open_in_place(
        &self,
        version: u32,
        nonce: [u8; NONCE_LEN],
        sealed: &mut Vec<u8>,
        what: &str,
    ) -> anyhow::Result<()> {
        let body_len = sealed.len().checked_sub(TAG_LEN).with_context(|| format!("{what} too short"))?;
        let tag: [u8; TAG_LEN] = sealed[body_len..].try_into().context("tag")?;
        sealed.truncate(body_len);
        self.cipher_for(version)?
            .decrypt_in_place_detached(&nonce, &[], sealed, &tag)
            .map_err(|_| anyhow::anyhow!("{what} failed authentication"))
    }

    /// The key version a stored value was sealed with (1 for values of earlier releases, which
    /// carry no prefix); `None` when it is not a sealed value at all.
    pub fn key_of(stored: &str) -> Option<u32> {
        match stored.split_once(':') {
            Some((k, _)) => k.strip_prefix('k')?.parse().ok(),
            None => (!stored.is_empty() && STANDARD.decode(stored).is_ok_and(|b| b.len() > 12)).then_some(1),
        }
    }

    pub fn decrypt(&self, stored: &str) -> anyhow::Result<String> {
        let (version, body) = match stored.split_once(':') {
            Some((k, body)) => (k.strip_prefix('k').and_then(|v| v.parse().ok()).context("unknown key id")?, body),
            None => (1, stored),
        };
        let mut bytes = STANDARD.decode(body).context("encrypted field is not base64")?;
        anyhow::ensure!(bytes.len() > NONCE_LEN, "encrypted field too short");
        let nonce: [u8; NONCE_LEN] = bytes[..NONCE_LEN].try_into().context("nonce")?;
        bytes.drain(..NONCE_LEN);
        self.open_in_place(version, nonce, &mut bytes, "encrypted field")?;
        String::from_utf8(bytes).context("encrypted field is not UTF-8")
    }

    /// Seals a text that earlier releases stored in plain (form data, licence faces): a sealed
    /// value is decrypted, anything else is taken as the plain text itself.
    pub fn open_or_plain(&self, stored: &str) -> anyhow::Result<String> {
        if Self::looks_sealed(stored) { self.decrypt(stored) } else { Ok(stored.to_owned()) }
    }

    /// True for `k<N>:<base64>`: what [`Self::encrypt`] makes, and no plain text with a space,
    /// a CJK character or JSON punctuation.
    fn looks_sealed(stored: &str) -> bool {
        let Some((key, body)) = stored.split_once(':') else { return false };
        key.strip_prefix('k').is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            && !body.is_empty()
            && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    }

    /// Seals a file's content under the current key, with a nonce of its own. Whole files: an
    /// upload is already held in memory whole (bounded by the upload limit) when it is stored.
    /// The content is copied once, into the output with its header, and encrypted there.
    pub fn encrypt_bytes(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(FILE_HEADER + plaintext.len() + TAG_LEN);
        out.extend_from_slice(FILE_MAGIC);
        // The key version, filled in once known.
        out.extend_from_slice(&[0; 4]);
        let version = self.seal_after(&mut out, 8, plaintext);
        out[4..8].copy_from_slice(&version.to_be_bytes());
        out
    }

    /// The key version of an encrypted file; `None` for a file stored in plain by an earlier
    /// release.
    pub fn file_key_of(stored: &[u8]) -> Option<u32> {
        if stored.len() < FILE_HEADER || &stored[..4] != FILE_MAGIC {
            return None;
        }
        stored[4..8].try_into().ok().map(u32::from_be_bytes)
    }

    /// Opens a stored file; one stored in plain by an earlier release comes back as it is.
    pub fn decrypt_bytes(&self, stored: &[u8]) -> anyhow::Result<Vec<u8>> {
        let Some(version) = Self::file_key_of(stored) else { return Ok(stored.to_vec()) };
        let nonce: [u8; NONCE_LEN] = stored[8..FILE_HEADER].try_into().context("nonce")?;
        let mut plain = stored[FILE_HEADER..].to_vec();
        self.open_in_place(version, nonce, &mut plain, "encrypted file")?;
        Ok(plain)
    }

    /// A keyed digest (a blind index, HMAC-SM3): equal inputs give equal digests, and without
    /// the key the digest reveals nothing usable about the value.
    pub fn index(&self, value: &str) -> String {
        // HMAC takes a key of any length.
        match <HmacSm3 as hmac::digest::KeyInit>::new_from_slice(&self.inner.index_key) {
            Ok(mut mac) => {
                mac.update(value.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

fn sm4_gcm(key: &[u8]) -> Sm4Gcm {
    let mut k = [0u8; 16];
    k.copy_from_slice(&key[..16]);
    Sm4Gcm::new(&k)
}

/// Reads every `field-<N>.key` of the directory.
fn read_key_dir(dir: &Path) -> anyhow::Result<BTreeMap<u32, Arc<Sm4Gcm>>> {
    let mut ciphers = BTreeMap::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) =
            name.strip_prefix("field-").and_then(|n| n.strip_suffix(".key")).and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).with_context(|| format!("reading {name}"))?;
        let bytes = hex::decode(text.trim()).with_context(|| format!("{name} is not hex"))?;
        anyhow::ensure!(bytes.len() == 16 || bytes.len() == 32, "{name} must hold 16 or 32 bytes");
        ciphers.insert(version, Arc::new(sm4_gcm(&bytes)));
    }
    Ok(ciphers)
}

fn new_key_file(dir: &Path, version: u32) -> anyhow::Result<()> {
    let mut key = [0u8; 16];
    rand::rng().fill_bytes(&mut key);
    write_private_file(&dir.join(format!("field-{version}.key")), hex::encode(key).as_bytes())
}

/// Creates a directory (and its parents) readable only by the service's user, and tightens an
/// existing one.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
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
        assert!(stored.starts_with("k1:"), "{stored}");
        assert_ne!(stored, c.encrypt("11010519491231002X"), "fresh nonce each time");
        assert_eq!(c.decrypt(&stored).ok().as_deref(), Some("11010519491231002X"));
        let mut bytes = STANDARD.decode(&stored[3..]).unwrap_or_default();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        assert!(c.decrypt(&format!("k1:{}", STANDARD.encode(&bytes))).is_err());
        // Values of earlier releases carry no key id and were sealed by key 1.
        assert_eq!(c.decrypt(&stored[3..]).ok().as_deref(), Some("11010519491231002X"));
        assert_eq!(FieldCipher::key_of(&stored), Some(1));
        assert_eq!(FieldCipher::key_of("{}"), None);
        assert_eq!(c.open_or_plain("kindly note: k1:x").ok().as_deref(), Some("kindly note: k1:x"));
        assert_eq!(c.open_or_plain(&stored).ok().as_deref(), Some("11010519491231002X"));
        assert!(
            c.open_or_plain("k9:AAAAAAAAAAAAAAAAAAAAAAAA").is_err(),
            "a sealed value under a missing key is an error"
        );
        assert_eq!(c.index("x"), c.index("x"));
        assert_ne!(c.index("x"), FieldCipher::from_key(&[8u8; 32]).index("x"));
    }

    #[test]
    fn the_blind_index_is_hmac_sm3() {
        // RFC 2104 over SM3: `printf abc | openssl dgst -sm3 -hmac key`.
        let mut key = [0u8; 32];
        key[16..19].copy_from_slice(b"key");
        // HMAC pads a short key with zeros, so this equals the key "key".
        let c = FieldCipher::from_key(&key);
        assert_eq!(c.index("abc"), "28e63256e7c5a087b1f073265dc53092163f7b82729735d06f28f10af9d52393");
    }

    #[test]
    fn files_round_trip_and_plain_files_of_earlier_releases_still_open() {
        let c = FieldCipher::from_key(&[7u8; 32]);
        let sealed = c.encrypt_bytes(b"%PDF-1.4 hello");
        assert_eq!(FieldCipher::file_key_of(&sealed), Some(1));
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        assert_eq!(c.decrypt_bytes(&sealed).ok().as_deref(), Some(&b"%PDF-1.4 hello"[..]));
        assert_eq!(c.decrypt_bytes(b"%PDF-1.4 plain").ok().as_deref(), Some(&b"%PDF-1.4 plain"[..]));
        let mut bad = sealed.clone();
        if let Some(last) = bad.last_mut() {
            *last ^= 1;
        }
        assert!(c.decrypt_bytes(&bad).is_err());
    }

    #[test]
    fn values_and_files_sealed_by_the_portable_cipher_of_earlier_releases_still_open() {
        // Earlier releases sealed with RustCrypto's AesGcm<Sm4> (now `Sm4Gcm::software`); the
        // fast path must open what they wrote, and write what they would have written.
        let key = [7u8; 32];
        let c = FieldCipher::from_key(&key);
        let k: [u8; 16] = key[..16].try_into().unwrap_or_default();
        let old = Sm4Gcm::software(&k);
        let nonce = [0x24u8; NONCE_LEN];
        let sealed = old.encrypt(&nonce, "张三 11010519491231002X".as_bytes()).unwrap_or_default();
        let stored = format!("k1:{}", STANDARD.encode([&nonce[..], &sealed].concat()));
        assert_eq!(c.decrypt(&stored).ok().as_deref(), Some("张三 11010519491231002X"));
        let file =
            [&FILE_MAGIC[..], &1u32.to_be_bytes(), &nonce, &old.encrypt(&nonce, &[0xA5; 5000]).unwrap_or_default()]
                .concat();
        assert_eq!(c.decrypt_bytes(&file).ok(), Some(vec![0xA5; 5000]));
        // And the other way round: what FieldCipher seals, the portable cipher opens.
        let mine = c.encrypt_bytes(&[0x5A; 3000]);
        let nonce: [u8; NONCE_LEN] = mine[8..FILE_HEADER].try_into().unwrap_or_default();
        assert_eq!(old.decrypt(&nonce, &mine[FILE_HEADER..]).ok(), Some(vec![0x5A; 3000]));
    }

    #[test]
    fn random_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = random_password();
            assert!(tongban_domain::password::policy_violations("admin", &p).is_empty(), "{p}");
        }
    }
}
