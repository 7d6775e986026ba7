//! `sift user add`. Being written.

use std::process::ExitCode;

pub fn add(_args: super::UserAddArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("being written")
}
