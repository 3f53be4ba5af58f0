//! Personal data at rest: the one-time conversion of what earlier releases stored in plain (or
//! under the unversioned key), and key rotation (`tongban keys rotate`).
//!
//! Both walk every sealed column ([`tongban_store::sealed::COLUMNS`]) and every stored file in
//! small transactions (a batch of rows each), re-sealing what is not under the current key. The
//! service keeps running meanwhile: it reads values under every key it has, picks up a new key
//! within [`KEY_REFRESH`], and a value it writes under the old key in between is caught by the
//! rotation's last pass. An interrupted run is resumed by running it again.

use std::time::{Duration, Instant};

use super::{Actor, AppError, Core, audit_in};
use tongban_crypto::FieldCipher;
use tongban_store::audit::Outcome;
use tongban_store::sealed::{self, Before, COLUMNS};

/// How often a running service re-reads its keys directory.
pub const KEY_REFRESH: Duration = Duration::from_secs(5);

const BATCH: i64 = 200;

/// What a pass re-sealed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub values: u64,
    pub files: u64,
}

/// Seals every value and file that is not under the current key yet, one batch per
/// transaction; returns how many were rewritten.
pub async fn reseal_all(core: &Core) -> Result<Resealed, AppError> {
    let mut done = Resealed::default();
    let prefix = core.cipher.current_prefix();
    for column in COLUMNS {
        let mut after = 0;
        loop {
            let mut tx = core.db.begin().await?;
            let rows = sealed::batch(&mut tx, column, after, &prefix, BATCH).await?;
            let Some(last) = rows.last().map(|r| r.0) else { break };
            for (id, old) in &rows {
                let plain = match (column.before, FieldCipher::key_of(old)) {
                    (Before::Plain, _) => core.cipher.open_or_plain(old)?,
                    (Before::Sealed, Some(_)) => core.cipher.decrypt(old)?,
                    (Before::Sealed, None) => {
                        return Err(AppError::Internal(anyhow::anyhow!("{} {id} is not a sealed value", column.name)));
                    }
                };
                if sealed::replace(&mut tx, column, *id, old, &core.cipher.encrypt(&plain)).await? {
                    done.values += 1;
                }
            }
            tx.commit().await?;
            after = last;
        }
    }
    for sha256 in core.blobs.list().await? {
        if core.blobs.reseal(&sha256).await? {
            done.files += 1;
        }
    }
    Ok(done)
}

/// Recomputes every keyed blind index (ID numbers of accounts, holder codes of licences) from
/// the sealed values, with the current index function (HMAC-SM3).
async fn recompute_indexes(core: &Core) -> Result<(), AppError> {
    let mut after = 0;
    loop {
        let mut tx = core.db.begin().await?;
        let rows = sealed::users_with_id_numbers(&mut tx, after, BATCH).await?;
        let Some(last) = rows.last().map(|r| r.0) else { break };
        for (id, enc) in &rows {
            sealed::set_user_digest(&mut tx, *id, &core.cipher.index(&core.cipher.decrypt(enc)?)).await?;
        }
        tx.commit().await?;
        after = last;
    }
    let mut after = 0;
    loop {
        let mut tx = core.db.begin().await?;
        let rows = sealed::licences_with_holder_codes(&mut tx, after, BATCH).await?;
        let Some(last) = rows.last().map(|r| r.0) else { break };
        for (id, enc) in &rows {
            sealed::set_licence_digest(&mut tx, *id, &core.cipher.index(&core.cipher.decrypt(enc)?)).await?;
        }
        tx.commit().await?;
        after = last;
    }
    Ok(())
}

/// At start-up: converts a database of an earlier release once (plain form data, licence faces
/// and files sealed; unversioned ciphertexts re-sealed; blind indexes recomputed as HMAC-SM3).
/// Returns true when it ran.
pub async fn convert_once(core: &Core) -> Result<bool, AppError> {
    if sealed::state(&mut *core.db.conn().await?, "at_rest").await?.is_some() {
        return Ok(false);
    }
    let done = reseal_all(core).await?;
    recompute_indexes(core).await?;
    let mut tx = core.db.begin().await?;
    sealed::set_state(&mut tx, "at_rest", "1").await?;
    tx.commit().await?;
    if done.values > 0 || done.files > 0 {
        tracing::info!(values = done.values, files = done.files, "personal data at rest sealed");
    }
    Ok(true)
}

/// The outcome of `tongban keys rotate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub key: u32,
    /// True when an interrupted rotation was finished rather than a new key made.
    pub resumed: bool,
    pub resealed: Resealed,
}

/// Makes a new field key (or resumes an interrupted rotation) and re-seals every value and file
/// under it. It returns once a pass finds nothing left under an older key, and no earlier than
/// two refresh periods after the key was made, so that a running service has switched to it.
/// The blind-index key is not rotated (digests must stay comparable while the service runs).
pub async fn rotate(core: &Core, actor: &Actor, settle: Duration) -> Result<Rotation, AppError> {
    let pending = sealed::state(&mut *core.db.conn().await?, "rotation").await?;
    let (key, resumed) = match pending.and_then(|v| v.parse::<u32>().ok()) {
        Some(key) if key == core.cipher.current_key() => (key, true),
        _ => {
            let key = core.cipher.create_key()?;
            let mut tx = core.db.begin().await?;
            sealed::set_state(&mut tx, "rotation", &key.to_string()).await?;
            tx.commit().await?;
            (key, false)
        }
    };
    let started = Instant::now();
    let mut total = reseal_all(core).await?;
    loop {
        if let Some(left) = settle.checked_sub(started.elapsed()) {
            tokio::time::sleep(left).await;
        }
        let pass = reseal_all(core).await?;
        total.values += pass.values;
        total.files += pass.files;
        if pass == Resealed::default() {
            break;
        }
    }
    let mut tx = core.db.begin().await?;
    sealed::clear_state(&mut tx, "rotation").await?;
    let detail = format!("字段密钥 k{key}：重新加密 {} 个字段值、{} 个文件", total.values, total.files);
    audit_in(&mut tx, &core.clock, actor, "keys.rotate", &format!("field-{key}.key"), Outcome::Success, &detail)
        .await?;
    tx.commit().await?;
    Ok(Rotation { key, resumed, resealed: total })
}
