//! Pure types and rules: no I/O. Everything here is unit-tested beside its definition.

pub mod application;
pub mod calendar;
pub mod case;
pub mod code;
pub mod day;
pub mod identity;
pub mod item;
pub mod licence;
pub mod mask;
pub mod org;
pub mod password;
pub mod permission;
pub mod queue;
pub mod reference;
pub mod role;
pub mod workflow;

use serde::Serialize;

/// One problem with one field, in Chinese (shared by every validation in the platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), code: code.to_owned(), message: message.into() }
    }
}
