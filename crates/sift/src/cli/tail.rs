//! `sift tail`. Being written.

use std::process::ExitCode;

pub fn run(_args: super::TailArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sift tail` is being written")
}
