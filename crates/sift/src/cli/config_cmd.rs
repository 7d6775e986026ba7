//! `sift config example` and `sift check-config`. Being written.

use std::process::ExitCode;

pub fn example() -> anyhow::Result<ExitCode> {
    anyhow::bail!("being written")
}

pub fn check(_args: super::CheckConfigArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("being written")
}
