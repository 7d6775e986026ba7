//! The command line: `sift serve` and the client commands that talk to a running server
//! over its HTTP API (`send`, `import`, `tail`, `search`, `bench`), plus configuration helpers.

pub mod bench;
pub mod client;
pub mod config_cmd;
mod escape;
pub mod import;
pub mod query;
pub mod search;
pub mod send;
pub mod serve;
pub mod tail;
pub mod user;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// sift: a production log and event monitoring server in one binary.
#[derive(Debug, Parser)]
#[command(name = "sift", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Send events: a message given as arguments, or one event per line of standard input.
    Send(SendArgs),
    /// Import log files (syslog text, NDJSON or Logplex frames) into a running server.
    Import(ImportArgs),
    /// Follow live events matching a query, with a backlog of recent ones.
    Tail(TailArgs),
    /// Search stored events, newest first.
    Search(SearchArgs),
    /// Run a query with pipes (`... | stats count() by host`) and print the table.
    Query(QueryArgs),
    /// Generate load against a server and report throughput and end-to-end latency.
    Bench(BenchArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Check a configuration file (and SIFT_* overrides) and report every error at once.
    CheckConfig(CheckConfigArgs),
    /// Credentials.
    #[command(subcommand)]
    User(UserCommand),
}

impl Command {
    /// Whether this command runs the server (which sets up its log from its configuration).
    pub fn is_server(&self) -> bool {
        matches!(self, Command::Serve(_))
    }
}

/// Where a client command finds the server and how it authenticates.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Base URL of the sift server.
    #[arg(long, env = "SIFT_URL", default_value = "http://127.0.0.1:9125", global = true)]
    pub url: String,
    /// HTTP Basic credentials: `NAME` (password from SIFT_PASSWORD) or `NAME:PASSWORD`.
    #[arg(long, env = "SIFT_USER", global = true)]
    pub user: Option<String>,
    /// Password for --user when it has none.
    #[arg(long, env = "SIFT_PASSWORD", hide_env_values = true, global = true)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Without one, the embedded defaults apply.
    #[arg(long, short, env = "SIFT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (overrides `data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// HTTP listener, host:port (overrides `http.listen`).
    #[arg(long)]
    pub http: Option<String>,
    /// Syslog listener for UDP and TCP, host:port (overrides `syslog.listen`).
    #[arg(long)]
    pub syslog: Option<String>,
    /// Popcorn protobuf UDP listener, host:port (overrides `popcorn.listen`).
    #[arg(long)]
    pub popcorn: Option<String>,
    /// Keep events in memory only (overrides `storage.memory_only`).
    #[arg(long)]
    pub memory_only: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The message. Without it, each line of standard input is sent as one event.
    pub message: Vec<String>,
    /// Severity name or number (emergency … debug).
    #[arg(long, short, default_value = "info")]
    pub severity: String,
    #[arg(long)]
    pub app: Option<String>,
    /// Host name; defaults to this machine's.
    #[arg(long)]
    pub host: Option<String>,
    /// Event type.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// A tag; repeat for several.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// A field `key=value` (value parsed as JSON when it is valid JSON); repeat for several.
    #[arg(long = "field")]
    pub fields: Vec<String>,
    /// Events per request when reading standard input.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
}

// No doc comment: clap would show it instead of the subcommand's line in `sift import --help`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Exit status: 0 when every line was imported, 1 when some lines were rejected, \
2 when the server could not be reached or refused a batch, or a file could not be read.")]
pub struct ImportArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Files to import, in order; `-` is standard input. Gzipped files are read as they are.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The format of every file; without it each file's first non-blank bytes decide:
    /// `{` is NDJSON, `LEN <` is Logplex frames, anything else syslog lines.
    #[arg(long, value_enum)]
    pub format: Option<import::Format>,
    /// Events per request (at most 1000, the most rejections the server itemises in one answer).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub batch: u16,
    /// App for syslog and Logplex events that carry none (NDJSON lines are sent as they are).
    #[arg(long)]
    pub app: Option<String>,
    /// Host for syslog and Logplex events that carry none.
    #[arg(long)]
    pub host: Option<String>,
    /// Channel of the imported syslog and Logplex events (default: the server's `default`):
    /// 1 to 128 ASCII letters, digits, '-', '_' or '.'.
    #[arg(long, value_parser = channel_name)]
    pub channel: Option<String>,
    /// Hide the progress bar (it is only drawn when standard error is a terminal).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Query that events must match (default: all).
    pub query: Vec<String>,
    /// Recent events to print before following.
    #[arg(long, default_value_t = 20)]
    pub backlog: usize,
    /// Print each event as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// Colour output: auto, always, never.
    #[arg(long, default_value = "auto")]
    pub color: String,
}

/// The time range of a search or query.
#[derive(Debug, Clone, Args)]
pub struct TimeRangeArgs {
    /// Oldest time: RFC 3339 or an age such as 15m, 2h, 7d.
    #[arg(long)]
    pub since: Option<String>,
    /// Newest time: RFC 3339 or an age.
    #[arg(long)]
    pub until: Option<String>,
}

impl TimeRangeArgs {
    /// The `since`/`until` query parameters that are set.
    pub fn params(&self) -> Vec<(&'static str, &str)> {
        [("since", &self.since), ("until", &self.until)]
            .into_iter()
            .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
            .collect()
    }
}

#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The query.
    pub query: Vec<String>,
    #[command(flatten)]
    pub range: TimeRangeArgs,
    /// Most events to print.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Print each event as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// Colour output: auto, always, never.
    #[arg(long, default_value = "auto")]
    pub color: String,
}

#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The query: a filter, then pipe stages (`severity>=error | stats count() by app`).
    pub query: Vec<String>,
    #[command(flatten)]
    pub range: TimeRangeArgs,
    /// Print the answer as JSON (`{"columns":[...],"rows":[...]}`).
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the table as CSV (RFC 4180 quoting), cells exactly as stored: data for a program,
    /// so control characters are not escaped as they are in the table.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// Protocol to send with.
    #[arg(long, value_enum, default_value_t = BenchProtocol::HttpJson)]
    pub protocol: BenchProtocol,
    /// The server's syslog listener, for syslog-tcp and syslog-udp.
    #[arg(long, default_value = "127.0.0.1:5514")]
    pub syslog: String,
    /// The server's Popcorn listener, for popcorn.
    #[arg(long, default_value = "127.0.0.1:9125")]
    pub popcorn: String,
    /// Events to send in all.
    #[arg(long, short = 'n', default_value_t = 1_000_000)]
    pub count: u64,
    /// Target events per second (0: as fast as possible).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Concurrent connections (for UDP: sockets).
    #[arg(long, short = 'c', default_value_t = 4)]
    pub connections: usize,
    /// Events per request (http-json, logplex, otlp).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Bytes of message text per event; for syslog and logplex, of the whole syslog message.
    #[arg(long, default_value_t = 200)]
    pub message_size: usize,
    /// Measure end-to-end latency through a live tail (ingest to SSE client).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub latency: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The wire protocols `sift bench` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchProtocol {
    /// NDJSON to `POST /api/v1/events`.
    HttpJson,
    /// RFC 5424, octet-counted, over TCP to --syslog.
    SyslogTcp,
    /// RFC 5424, one message per datagram, to --syslog.
    SyslogUdp,
    /// Popcorn v2 protobuf datagrams to --popcorn.
    Popcorn,
    /// Logplex frames to `POST /logs`, with a channel token the bench creates.
    Logplex,
    /// OTLP/HTTP protobuf to `POST /v1/logs`.
    Otlp,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Print an annotated configuration file with every key and its default.
    Example,
}

#[derive(Debug, Clone, Args)]
pub struct CheckConfigArgs {
    /// The configuration file to check (default: embedded defaults plus SIFT_* overrides).
    #[arg(long, short, env = "SIFT_CONFIG")]
    pub config: Option<PathBuf>,
    /// The file, as a positional argument.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Hash a password and print the `[[auth.users]]` entry to paste into the config.
    Add(UserAddArgs),
}

// No doc comment: clap would show it instead of the subcommand's line in `sift user add --help`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Without --password: on a terminal, the password is asked twice without echo \
(a mismatch or an empty password is refused); otherwise the first line of standard input is the \
password, as in `echo \"$PW\" | sift user add alice`.")]
pub struct UserAddArgs {
    /// The user name.
    pub name: String,
    /// The password, for scripts. Visible to other users in the process list (`ps`) and kept
    /// in shell history: prefer standard input or SIFT_NEW_PASSWORD.
    #[arg(long, env = "SIFT_NEW_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// A `--channel` value, refused before anything is sent when it breaks the rule every channel
/// name keeps (clap then exits with status 2 and names the flag).
fn channel_name(text: &str) -> Result<String, String> {
    sift_core::event::check_channel(text).map(|()| text.to_owned()).map_err(|invalid| invalid.to_string())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Send(args) => send::run(args),
        Command::Import(args) => import::run(args),
        Command::Tail(args) => tail::run(args),
        Command::Search(args) => search::run(args),
        Command::Query(args) => query::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Config(ConfigCommand::Example) => config_cmd::example(),
        Command::CheckConfig(args) => config_cmd::check(args),
        Command::User(UserCommand::Add(args)) => user::add(args),
    }
}
