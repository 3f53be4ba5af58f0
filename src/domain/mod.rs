//! Pure types and rules: no I/O. Everything here is unit-tested beside its definition.

pub mod identity;
pub mod mask;
pub mod password;
pub mod permission;
pub mod role;
