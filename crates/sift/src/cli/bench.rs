//! `sift bench`. Being written.

use std::process::ExitCode;

pub fn run(_args: super::BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`sift bench` is being written")
}
