//! `sift serve`. Being written.

use std::process::ExitCode;

pub fn run(_args: super::ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("being written")
}
