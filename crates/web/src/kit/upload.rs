//! Uploads and downloads: multipart submissions read into text fields and files (within the
//! submission limit), licence picks, and a stored file sent back with a safe name.

use axum::extract::multipart::{Field as Part, Multipart};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::AppState;
use crate::kit::error::{WebError, WebResult};
use tongban_app::applications::{self, Upload};
use tongban_app::views::MaterialFile;
use tongban_app::{AppError, FieldError};

/// Text fields and files of a multipart submission.
#[derive(Default)]
pub struct Parts {
    pub text: Vec<(String, String)>,
    pub uploads: Vec<Upload>,
}

/// Reads a multipart body; file parts must be named `material:<code>`. Empty file inputs (no
/// file chosen) are skipped.
pub async fn read_multipart(mut multipart: Multipart) -> Result<Parts, WebError> {
    let mut parts = Parts::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(code) = name.strip_prefix("material:") {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = read_part(field).await?;
            if !bytes.is_empty() || !file_name.is_empty() {
                if bytes.is_empty() {
                    return Err(AppError::Invalid(vec![FieldError::new(
                        &name,
                        "empty_file",
                        "上传的文件是空的，请重新选择",
                    )])
                    .into());
                }
                parts.uploads.push(Upload { material_code: code.to_owned(), file_name, bytes });
            }
        } else {
            let bytes = read_part(field).await?;
            let text = String::from_utf8(bytes.to_vec())
                .map_err(|_| AppError::Invalid(vec![FieldError::new(&name, "encoding", "内容须为 UTF-8 文本")]))?;
            parts.text.push((name, text));
        }
    }
    Ok(parts)
}

async fn read_part(mut field: Part<'_>) -> Result<axum::body::Bytes, WebError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        buf.extend_from_slice(&chunk);
        if buf.len() > applications::MAX_SUBMISSION_BYTES {
            return Err(too_large());
        }
    }
    Ok(buf.into())
}

fn too_large() -> WebError {
    AppError::PayloadTooLarge(format!(
        "一次提交的材料合计不能超过 {} MB",
        applications::MAX_SUBMISSION_BYTES / 1024 / 1024
    ))
    .into()
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> WebError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        AppError::Invalid(vec![FieldError::new("body", "malformed", "上传内容不完整或格式不正确，请重新提交")]).into()
    }
}

/// Electronic licences picked instead of uploads, in order: parts named `licence:<material
/// code>` whose value is the licence identifier (a ticked box on the form; a text part in the
/// API), or empty to withdraw an earlier pick (the form sends that before its boxes, so an
/// unticked box withdraws).
pub fn licence_picks(text: &[(String, String)]) -> Vec<(String, String)> {
    text.iter().filter_map(|(k, v)| Some((k.strip_prefix("licence:")?.to_owned(), v.trim().to_owned()))).collect()
}

/// The bytes of one file part named `name` (other parts are ignored); `None` when no file was
/// chosen.
pub async fn read_multipart_files(mut multipart: Multipart, name: &str) -> Result<Option<axum::body::Bytes>, WebError> {
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() == Some(name) {
            let bytes = read_part(field).await?;
            return Ok((!bytes.is_empty()).then_some(bytes));
        }
    }
    Ok(None)
}

/// A stored material file, shown inline with its own name.
pub async fn file_response(state: &AppState, file: &MaterialFile) -> WebResult {
    let bytes = state.core.blobs.get(&file.file_sha256).await?;
    // The stored name is cleaned of quotes and paths; it is sent percent-encoded.
    let encoded = percent_encoding::utf8_percent_encode(&file.file_name, ATTR_CHAR).to_string();
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, file.content_type.clone()),
            (axum::http::header::CONTENT_DISPOSITION, format!("inline; filename*=UTF-8''{encoded}")),
            (axum::http::header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// What stays unescaped in a `filename*` value: letters, digits and `-._~` (RFC 8187's
/// attr-char, less the characters some browsers mistake).
const ATTR_CHAR: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
