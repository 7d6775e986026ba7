//! The pipeline: validate, classify, enrich, then publish. DESIGN.md section 5.
pub mod classify;
