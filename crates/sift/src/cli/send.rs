//! `sift send`. Being written.

use std::process::ExitCode;

pub fn run(_args: super::SendArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sift send` is being written")
}
