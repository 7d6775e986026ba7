//! `sift search`. Being written.

use std::process::ExitCode;

pub fn run(_args: super::SearchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sift search` is being written")
}
