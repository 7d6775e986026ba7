//! `sift config example` prints the annotated configuration file; `sift check-config`
//! loads a file the way `sift serve` would (with the `SIFT_*` variables of this process)
//! and either summarizes it or prints every error.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{self, Config, Overrides};

/// `sift config example`.
pub fn example() -> anyhow::Result<ExitCode> {
    print!("{}", config::example());
    Ok(ExitCode::SUCCESS)
}

/// `sift check-config [FILE]`: exit 0 with a summary, or 1 with every error.
pub fn check(args: super::CheckConfigArgs) -> anyhow::Result<ExitCode> {
    let file: Option<PathBuf> = args.file.or(args.config);
    let name = file.as_ref().map_or_else(|| "(embedded defaults)".into(), |f| f.display().to_string());
    match config::load(file.as_deref(), config::process_env(), &Overrides::default()) {
        Ok(config) => {
            println!("ok: {name}");
            println!("{}", summary(&config));
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// One line: where sift listens and stores, how big the ring is, how many rules and users.
fn summary(config: &Config) -> String {
    let storage = if config.storage.memory_only {
        "memory only".to_owned()
    } else {
        format!("data in {}", config.data_dir.display())
    };
    format!(
        "http {}, syslog {} (udp+tcp), popcorn {} (udp); {storage}; ring {} events, {}; {}, {}",
        config.http.listen,
        config.syslog.listen,
        config.popcorn.listen,
        config.ring.max_events,
        config::format_size(config.ring.max_bytes),
        plural(config.classify.len(), "classify rule"),
        plural(config.auth.users.len(), "user"),
    )
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_defaults() {
        expect_test::expect!["http 127.0.0.1:9125, syslog 127.0.0.1:5514 (udp+tcp), popcorn 127.0.0.1:9125 (udp); data in sift-data; ring 250000 events, 64 MiB; 0 classify rules, 0 users"]
            .assert_eq(&summary(&Config::default()));
    }
}
