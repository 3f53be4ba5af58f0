//! An application's materials (申请材料): uploads checked by their content against the item's
//! materials, stored content-addressed before any transaction refers to them, and attached to
//! an application. Online submission, window intake, bundles and supplements all use these.

use bytes::Bytes;

use super::{AppError, Core, FieldError, Problems};
use tongban_domain::application as rules;
use tongban_domain::item::ItemDefinition;
use tongban_store::applications::{self as store, MaterialFile};
use tongban_store::blobs::sha256_hex;

/// The most a single submission may carry in total.
pub const MAX_SUBMISSION_BYTES: usize = 60 * 1024 * 1024;

/// One uploaded file for one material.
#[derive(Debug, Clone)]
pub struct Upload {
    pub material_code: String,
    pub file_name: String,
    pub bytes: Bytes,
}

/// Checks every upload against its material (known code, accepted content, size limit).
fn check_uploads(defs: &[ItemDefinition], uploads: &[Upload]) -> Result<Vec<(Upload, &'static str)>, AppError> {
    let mut unknown = Problems::default();
    let mut checked = Vec::new();
    let total: usize = uploads.iter().map(|u| u.bytes.len()).sum();
    if total > MAX_SUBMISSION_BYTES {
        return Err(AppError::PayloadTooLarge(format!(
            "一次提交的材料合计不能超过 {} MB",
            MAX_SUBMISSION_BYTES / 1024 / 1024
        )));
    }
    for u in uploads {
        let Some(m) = find_material(defs, &u.material_code) else {
            unknown.add(
                &format!("material:{}", u.material_code),
                "unknown_material",
                format!("本事项没有编号为 {} 的材料", u.material_code),
            );
            continue;
        };
        if u.bytes.len() as u64 > m.max_bytes {
            return Err(AppError::PayloadTooLarge(format!("「{}」的文件不能超过 {}", m.name, human_size(m.max_bytes))));
        }
        let kind = rules::sniff_content_type(&u.bytes).filter(|k| m.accept.iter().any(|a| a == k));
        let Some(kind) = kind else {
            let names: Vec<&str> = m.accept.iter().map(|a| mime_label(a)).collect();
            return Err(AppError::UnsupportedMediaType(format!(
                "「{}」只接受 {} 文件，请检查文件内容",
                m.name,
                names.join("、")
            )));
        };
        checked.push((u.clone(), kind));
    }
    unknown.into_result()?;
    Ok(checked)
}

/// A material by its code, or by `<item code>:<material code>` in a bundle.
fn find_material<'a>(defs: &'a [ItemDefinition], key: &str) -> Option<&'a tongban_domain::item::Material> {
    match key.split_once(':') {
        Some((item, code)) => defs.iter().find(|d| d.code == item)?.materials.iter().find(|m| m.code == code),
        None => defs.iter().flat_map(|d| d.materials.iter()).find(|m| m.code == key),
    }
}

fn mime_label(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPG",
        "image/png" => "PNG",
        _ => "其他",
    }
}

pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 { format!("{} MB", bytes / 1024 / 1024) } else { format!("{} KB", bytes.div_ceil(1024)) }
}

/// Checks uploads against the materials of `defs` and puts their bytes in storage first
/// (content-addressed, flushed), so that a transaction only ever refers to bytes already safe.
pub async fn store_uploads(
    core: &Core,
    defs: &[ItemDefinition],
    uploads: Vec<Upload>,
) -> Result<Vec<MaterialFile>, AppError> {
    let checked = check_uploads(defs, &uploads)?;
    let now = core.clock.now_ms();
    let mut files = Vec::new();
    for (u, kind) in checked {
        let sha = sha256_hex(&u.bytes);
        let size = u.bytes.len() as i64;
        core.blobs.put(&sha, u.bytes).await?;
        files.push(MaterialFile {
            material_code: u.material_code,
            file_sha256: sha,
            file_name: rules::clean_file_name(&u.file_name),
            content_type: kind.to_owned(),
            size,
            uploaded_at: now,
        });
    }
    Ok(files)
}

/// Records stored files as the application's materials, replacing earlier files of the same
/// materials.
pub async fn attach_files(
    tx: &mut sqlx::AnyConnection,
    application_id: i64,
    files: &[MaterialFile],
) -> Result<(), AppError> {
    let mut codes: Vec<&str> = files.iter().map(|f| f.material_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        let of_code: Vec<MaterialFile> = files.iter().filter(|f| f.material_code == code).cloned().collect();
        for f in &of_code {
            store::insert_file(tx, &f.file_sha256, f.size, &f.content_type, f.uploaded_at).await?;
        }
        store::replace_material(tx, application_id, code, &of_code).await?;
    }
    Ok(())
}

/// Problems with the materials held for a submission: every required material must be there.
pub(crate) fn missing_materials(def: &ItemDefinition, held: &[MaterialFile]) -> Vec<FieldError> {
    def.materials
        .iter()
        .filter(|m| m.required && !held.iter().any(|h| h.material_code == m.code))
        .map(|m| FieldError::new(&format!("material:{}", m.code), "required", format!("请上传「{}」", m.name)))
        .collect()
}
