//! `sift user add NAME`: hashes a password with argon2id and prints the `[[auth.users]]`
//! entry to paste into the configuration file.
//!
//! The password comes from `--password` (or `SIFT_NEW_PASSWORD`) for scripts; else, on a
//! terminal, it is asked twice without echo and a mismatch is refused; else (standard input is
//! a pipe or a file, `echo pw | sift user add alice`) it is the first line of standard input.
//! An empty password is always refused.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context;

use crate::config::users;

/// `sift user add`.
pub fn add(args: super::UserAddArgs) -> anyhow::Result<ExitCode> {
    users::check_name(&args.name).map_err(anyhow::Error::msg)?;
    let password = match args.password {
        Some(password) => password,
        None if std::io::stdin().is_terminal() => ask_twice(&args.name)?,
        None => first_line_of_stdin()?,
    };
    if password.is_empty() {
        anyhow::bail!("refusing an empty password");
    }
    let hash = users::hash_password(&password)?;
    print!("{}", users::entry(&args.name, &hash));
    Ok(ExitCode::SUCCESS)
}

/// Asks for the password on the terminal twice, without echo, and refuses a mismatch.
fn ask_twice(name: &str) -> anyhow::Result<String> {
    let ask = |prompt: &str| rpassword::prompt_password(prompt).context("cannot read the password from the terminal");
    let password = ask(&format!("password for {name}: "))?;
    if password.is_empty() {
        anyhow::bail!("refusing an empty password");
    }
    if ask("the same password again: ")? != password {
        anyhow::bail!("the two passwords differ; nothing was printed (run `sift user add {name}` again)");
    }
    Ok(password)
}

/// The first line of standard input, without its line ending.
fn first_line_of_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}
