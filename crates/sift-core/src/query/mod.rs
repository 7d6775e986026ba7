//! The query language (DESIGN.md section 6), filter part. Being written.
