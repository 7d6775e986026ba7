//! `sift user add NAME`: hashes a password with argon2id and prints the `[[auth.users]]`
//! entry to paste into the configuration file. The password comes from `--password`,
//! `SIFT_NEW_PASSWORD`, or the first line of standard input.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use crate::config::users;

/// `sift user add`.
pub fn add(args: super::UserAddArgs) -> anyhow::Result<ExitCode> {
    users::check_name(&args.name).map_err(anyhow::Error::msg)?;
    let password = match args.password {
        Some(password) => password,
        None => read_password()?,
    };
    if password.is_empty() {
        anyhow::bail!("refusing an empty password");
    }
    let hash = users::hash_password(&password)?;
    print!("{}", users::entry(&args.name, &hash));
    Ok(ExitCode::SUCCESS)
}

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password (shown as you type): ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}
