//! The second stage: from the raw configuration (file and environment merged) and the
//! command-line flags to a validated [`Config`]. Every value is parsed and checked, every
//! rule compiled, every user's hash checked, then the whole is checked for what no single key
//! shows: a listener open to the network with no users, two listeners on one port. All
//! errors are collected, each naming the key (or the variable or flag) that set the value.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::env::EnvLayer;
use super::raw::{
    RawAlerts, RawChannels, RawConfig, RawHttp, RawLog, RawPipeline, RawPopcorn, RawQuery, RawRetention, RawRing,
    RawSyslog, RawTail, RawUser,
};
use super::{
    Config, DEFAULT_SYSLOG_TLS_LISTEN, Error, Overrides, PopcornConfig, RetentionConfig, SyslogConfig, User, users,
    values,
};
use crate::pipeline::classify::{RawRule, Rule};
use crate::tls::{LoadError, TlsFiles};

/// Compiles the merged raw configuration; `env` tells which keys came from variables.
pub(super) fn compile(raw: RawConfig, env: &EnvLayer, overrides: &Overrides) -> Result<Config, Vec<Error>> {
    let mut c = Compiler { env, errors: Vec::new() };
    let mut config = Config::default();
    // Destructured in full, so that a new raw key does not compile until it is handled here.
    let RawConfig {
        data_dir,
        http:
            RawHttp {
                listen: http_listen,
                max_body,
                public_url,
                allowed_hosts,
                max_connections,
                header_timeout,
                idle_timeout,
                body_timeout,
                body_min_rate,
                send_timeout,
                tls_cert,
                tls_key,
                max_items,
                max_decoded_bytes,
                max_inflight_bytes,
                max_decodes,
                max_decoding_bytes,
            },
        syslog,
        popcorn,
        storage,
        ring: RawRing { max_events, max_bytes },
        pipeline:
            RawPipeline { max_message_bytes, max_fields, max_field_bytes, max_depth, max_tags, max_past, max_future },
        alerts: RawAlerts { min_severity, topics },
        tail:
            RawTail { queue, max_backlog, max_clients, max_bytes: tail_max_bytes, max_total_bytes: tail_max_total_bytes },
        channels: RawChannels { max_channels, max_tokens_per_channel },
        query: RawQuery { timeout: query_timeout, max_concurrent },
        retention,
        log: RawLog { level, format },
        classify,
        auth,
    } = raw;

    c.set("data_dir", data_dir, Ok, &mut config.data_dir);
    if config.data_dir.as_os_str().is_empty() {
        c.error("data_dir", "must not be empty");
    }
    c.set("http.listen", http_listen, |s| values::address(&s), &mut config.http.listen);
    c.set("http.max_body", max_body, |s| values::positive_size(&s), &mut config.http.max_body);
    c.set("http.public_url", public_url, |s| values::public_url(&s), &mut config.http.public_url);
    if let Some(hosts) = allowed_hosts {
        for (i, host) in hosts.iter().enumerate() {
            if let Err(message) = values::host_pattern(host) {
                c.error(&format!("http.allowed_hosts[{i}]"), message);
            }
        }
        config.http.allowed_hosts = hosts;
    }
    c.set("http.max_items", max_items, values::positive, &mut config.http.max_items);
    c.set(
        "http.max_decoded_bytes",
        max_decoded_bytes,
        |s| values::positive_size(&s),
        &mut config.http.max_decoded_bytes,
    );
    c.set(
        "http.max_inflight_bytes",
        max_inflight_bytes,
        |s| values::positive_size(&s),
        &mut config.http.max_inflight_bytes,
    );
    c.set("http.max_decodes", max_decodes, values::positive, &mut config.http.max_decodes);
    c.set(
        "http.max_decoding_bytes",
        max_decoding_bytes,
        |s| values::positive_size(&s),
        &mut config.http.max_decoding_bytes,
    );
    if config.http.max_decoding_bytes < config.http.max_decoded_bytes {
        let message = format!(
            "{} bytes is less than http.max_decoded_bytes ({} bytes): a request at its budget could never be decoded",
            config.http.max_decoding_bytes, config.http.max_decoded_bytes
        );
        c.error("http.max_decoding_bytes", message);
    }
    if config.http.max_inflight_bytes < config.http.max_body {
        let message = format!(
            "{} bytes is less than http.max_body ({} bytes): a body at the limit could never be read",
            config.http.max_inflight_bytes, config.http.max_body
        );
        c.error("http.max_inflight_bytes", message);
    }
    let http = &mut config.http;
    c.set("http.max_connections", max_connections, values::positive, &mut http.max_connections);
    c.set("http.header_timeout", header_timeout, |s| values::positive_duration(&s), &mut http.header_timeout);
    c.set("http.idle_timeout", idle_timeout, |s| values::positive_duration(&s), &mut http.idle_timeout);
    c.set("http.body_timeout", body_timeout, |s| values::positive_duration(&s), &mut http.body_timeout);
    c.set("http.body_min_rate", body_min_rate, |s| values::positive_size(&s), &mut http.body_min_rate);
    c.set("http.send_timeout", send_timeout, |s| values::positive_duration(&s), &mut http.send_timeout);
    http.tls = c.tls(tls_cert, tls_key);
    let tls = http.tls.is_some();
    c.syslog(syslog, tls, &mut config.syslog);
    c.popcorn(popcorn, &mut config.popcorn);
    c.set("storage.memory_only", storage.memory_only, Ok, &mut config.storage.memory_only);
    c.set("storage.wal_fsync", storage.wal_fsync, |s| values::wal_fsync(&s), &mut config.storage.wal_fsync);
    c.set(
        "storage.wal_fsync_interval",
        storage.wal_fsync_interval,
        |s| values::duration(&s),
        &mut config.storage.wal_fsync_interval,
    );
    c.set("storage.flush_events", storage.flush_events, values::positive, &mut config.storage.flush_events);
    c.set(
        "storage.flush_interval",
        storage.flush_interval,
        |s| values::duration(&s),
        &mut config.storage.flush_interval,
    );
    c.set("storage.flush_bytes", storage.flush_bytes, |s| values::positive_size(&s), &mut config.storage.flush_bytes);
    c.set("storage.max_backlog", storage.max_backlog, |s| values::positive_size(&s), &mut config.storage.max_backlog);
    c.set("storage.min_free", storage.min_free, |s| values::min_free(&s), &mut config.storage.min_free);
    c.set("storage.compact", storage.compact, Ok, &mut config.storage.compact);
    c.set("ring.max_events", max_events, values::positive, &mut config.ring.max_events);
    c.set("ring.max_bytes", max_bytes, |s| values::positive_size(&s), &mut config.ring.max_bytes);
    let pipeline = &mut config.pipeline;
    c.set(
        "pipeline.max_message_bytes",
        max_message_bytes,
        |s| values::positive_size(&s),
        &mut pipeline.max_message_bytes,
    );
    c.set("pipeline.max_fields", max_fields, Ok, &mut pipeline.max_fields);
    c.set("pipeline.max_field_bytes", max_field_bytes, |s| values::positive_size(&s), &mut pipeline.max_field_bytes);
    c.set("pipeline.max_depth", max_depth, Ok, &mut pipeline.max_depth);
    c.set("pipeline.max_tags", max_tags, Ok, &mut pipeline.max_tags);
    c.set("pipeline.max_past", max_past, |s| values::duration(&s), &mut pipeline.max_past);
    c.set("pipeline.max_future", max_future, |s| values::duration(&s), &mut pipeline.max_future);
    c.set("alerts.min_severity", min_severity, |s| values::severity(&s), &mut config.alerts.min_severity);
    if let Some(topics) = topics {
        config.alerts.topics = c.topics(topics);
    }
    c.set("tail.queue", queue, values::positive, &mut config.tail.queue);
    c.set("tail.max_backlog", max_backlog, Ok, &mut config.tail.max_backlog);
    c.set("tail.max_clients", max_clients, values::positive, &mut config.tail.max_clients);
    c.set("tail.max_bytes", tail_max_bytes, |s| values::positive_size(&s), &mut config.tail.max_bytes);
    c.set(
        "tail.max_total_bytes",
        tail_max_total_bytes,
        |s| values::positive_size(&s),
        &mut config.tail.max_total_bytes,
    );
    c.set("channels.max_channels", max_channels, values::positive, &mut config.channels.max_channels);
    c.set(
        "channels.max_tokens_per_channel",
        max_tokens_per_channel,
        values::positive,
        &mut config.channels.max_tokens_per_channel,
    );
    c.set("query.timeout", query_timeout, |s| values::positive_duration(&s), &mut config.query.timeout);
    c.set("query.max_concurrent", max_concurrent, values::positive, &mut config.query.max_concurrent);
    c.retention(retention, &mut config.retention);
    c.set("log.level", level, |s| values::log_level(&s).map(Some), &mut config.log.level);
    c.set("log.format", format, |s| values::log_format(&s), &mut config.log.format);
    config.classify = c.rules(classify);
    let users_written = !auth.users.is_empty();
    config.auth.users = c.users(auth.users);

    c.overrides(overrides, &mut config);
    c.listeners(&config, users_written);
    if c.errors.is_empty() { Ok(config) } else { Err(c.errors) }
}

struct Compiler<'a> {
    env: &'a EnvLayer,
    errors: Vec<Error>,
}

impl Compiler<'_> {
    /// Records an error about `key`, named by where its value came from.
    fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(Error::new(self.env.path(key), message));
    }

    /// Parses `raw` into `target` when the key is set; the default stays otherwise.
    fn set<R, T>(&mut self, key: &str, raw: Option<R>, parse: impl FnOnce(R) -> Result<T, String>, target: &mut T) {
        match raw.map(parse) {
            None => {}
            Some(Ok(value)) => *target = value,
            Some(Err(message)) => self.error(key, message),
        }
    }

    /// `http.tls_cert` and `http.tls_key`: both or neither (an empty path is none), and files
    /// that load, with the key of the certificate.
    fn tls(&mut self, cert: Option<PathBuf>, key: Option<PathBuf>) -> Option<TlsFiles> {
        let given = |path: Option<PathBuf>| path.filter(|p| !p.as_os_str().is_empty());
        match (given(cert), given(key)) {
            (None, None) => None,
            (Some(_), None) => {
                self.error("http.tls_key", "must be set with http.tls_cert: the PEM private key of the certificate");
                None
            }
            (None, Some(_)) => {
                self.error("http.tls_cert", "must be set with http.tls_key: the PEM certificate chain of the key");
                None
            }
            (Some(cert), Some(key)) => match TlsFiles::load(&cert, &key) {
                Ok(files) => Some(files),
                Err(LoadError::Cert(message)) => {
                    self.error("http.tls_cert", message);
                    None
                }
                Err(LoadError::Key(message)) => {
                    self.error("http.tls_key", message);
                    None
                }
            },
        }
    }

    /// `[syslog]`; `tls` says whether a certificate is configured for `tls_listen`.
    fn syslog(&mut self, raw: RawSyslog, tls: bool, out: &mut SyslogConfig) {
        let RawSyslog { listen, channel, max_frame, max_connections, idle_timeout, recv_buffer, tls_listen } = raw;
        self.set("syslog.listen", listen, |s| values::address(&s), &mut out.listen);
        self.set("syslog.channel", channel, |s| values::channel(&s), &mut out.channel);
        self.set("syslog.max_frame", max_frame, |s| values::positive_size(&s), &mut out.max_frame);
        self.set("syslog.max_connections", max_connections, values::positive, &mut out.max_connections);
        self.set("syslog.idle_timeout", idle_timeout, |s| values::duration(&s), &mut out.idle_timeout);
        self.set("syslog.recv_buffer", recv_buffer, |s| values::positive_size(&s), &mut out.recv_buffer);
        // Written as the default, it waits for a certificate; another address needs one.
        let explicit = tls_listen.as_deref().is_some_and(|text| text != DEFAULT_SYSLOG_TLS_LISTEN && text != "off");
        let text = tls_listen.unwrap_or_else(|| DEFAULT_SYSLOG_TLS_LISTEN.to_owned());
        let addr = if text == "off" { Ok(None) } else { values::address(&text).map(Some) };
        match addr {
            Err(message) => self.error("syslog.tls_listen", format!("{message}, or \"off\"")),
            Ok(Some(_)) if !tls && explicit => self.error(
                "syslog.tls_listen",
                "syslog over TLS needs http.tls_cert and http.tls_key (the certificate it serves)",
            ),
            Ok(addr) => out.tls_listen = addr.filter(|_| tls),
        }
    }

    /// `[popcorn]`.
    fn popcorn(&mut self, raw: RawPopcorn, out: &mut PopcornConfig) {
        let RawPopcorn { listen, channel, recv_buffer } = raw;
        self.set("popcorn.listen", listen, |s| values::address(&s), &mut out.listen);
        self.set("popcorn.channel", channel, |s| values::channel(&s), &mut out.channel);
        self.set("popcorn.recv_buffer", recv_buffer, |s| values::positive_size(&s), &mut out.recv_buffer);
    }

    /// `[retention]` with its per-severity and per-channel tables.
    fn retention(&mut self, raw: RawRetention, out: &mut RetentionConfig) {
        self.set("retention.default", raw.default, |s| values::duration(&s), &mut out.default);
        self.set("retention.max_bytes", raw.max_bytes, |s| values::size(&s), &mut out.max_bytes);
        self.set("retention.check_interval", raw.check_interval, |s| values::duration(&s), &mut out.check_interval);
        for (name, age) in raw.severity {
            let key = format!("retention.severity.{name}");
            match (values::severity(&name), values::duration(&age)) {
                (Ok(severity), Ok(age)) => out.by_severity.push((severity, age)),
                (Err(message), _) | (_, Err(message)) => self.error(&key, message),
            }
        }
        for (name, age) in raw.channel {
            let key = format!("retention.channel.{name}");
            match (values::channel(&name), values::duration(&age)) {
                (Ok(name), Ok(age)) => out.by_channel.push((name, age)),
                (Err(message), _) | (_, Err(message)) => self.error(&key, message),
            }
        }
    }

    /// Alert topics, written with or without the `#`.
    fn topics(&mut self, topics: Vec<String>) -> Vec<String> {
        let mut out = Vec::with_capacity(topics.len());
        for (i, topic) in topics.into_iter().enumerate() {
            let name = topic.strip_prefix('#').unwrap_or(&topic);
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                let message = format!("{topic:?} is not a topic: use letters, digits and '_', such as \"checkout\"");
                self.error(&format!("alerts.topics[{i}]"), message);
            } else {
                out.push(name.to_owned());
            }
        }
        out
    }

    fn rules(&mut self, raw: Vec<RawRule>) -> Vec<Rule> {
        let mut rules = Vec::with_capacity(raw.len());
        for (i, rule) in raw.into_iter().enumerate() {
            match Rule::compile(rule, i) {
                Ok(rule) => rules.push(rule),
                Err(errors) => {
                    for error in errors {
                        self.error(&format!("classify[{i}].{}", error.key), error.message);
                    }
                }
            }
        }
        if let Err(message) = crate::pipeline::rules::check_total(&rules) {
            self.error("classify", message);
        }
        rules
    }

    fn users(&mut self, raw: Vec<RawUser>) -> Vec<User> {
        let mut first: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(raw.len());
        for (i, user) in raw.into_iter().enumerate() {
            let mut ok = true;
            if let Err(message) = users::check_name(&user.name) {
                self.error(&format!("auth.users[{i}].name"), message);
                ok = false;
            } else if let Some(j) = first.get(&user.name) {
                let message = format!("duplicate user {:?} (first at auth.users[{j}])", user.name);
                self.error(&format!("auth.users[{i}].name"), message);
                ok = false;
            } else {
                first.insert(user.name.clone(), i);
            }
            if let Err(message) = users::check_hash(&user.password_hash) {
                let name = if users::check_name(&user.name).is_ok() { &user.name } else { "NAME" };
                let message = format!("{message}; make one with `sift user add {name}`");
                self.error(&format!("auth.users[{i}].password_hash"), message);
                ok = false;
            }
            for (j, channel) in user.channels.iter().flatten().enumerate() {
                if let Err(message) = values::channel(channel) {
                    self.error(&format!("auth.users[{i}].channels[{j}]"), message);
                    ok = false;
                }
            }
            if ok {
                out.push(User { name: user.name, password_hash: user.password_hash, channels: user.channels });
            }
        }
        out
    }

    /// Applies `sift serve` flags, which beat the file and the environment.
    fn overrides(&mut self, overrides: &Overrides, config: &mut Config) {
        if let Some(dir) = &overrides.data_dir {
            if dir.as_os_str().is_empty() {
                self.errors.push(Error::new("--data-dir", "must not be empty"));
            } else {
                config.data_dir = dir.clone();
            }
        }
        let listeners = [
            ("--http", &overrides.http, &mut config.http.listen),
            ("--syslog", &overrides.syslog, &mut config.syslog.listen),
            ("--popcorn", &overrides.popcorn, &mut config.popcorn.listen),
        ];
        for (flag, text, target) in listeners {
            let Some(text) = text else { continue };
            match values::address(text) {
                Ok(addr) => *target = addr,
                Err(message) => self.errors.push(Error::new(flag, message)),
            }
        }
        if overrides.memory_only {
            config.storage.memory_only = true;
        }
    }

    /// Checks the listeners together: loopback unless users are configured (DESIGN.md
    /// section 1, "secure by default"), and no two on one port of one protocol.
    /// `users_written` says whether the file has `[[auth.users]]`, even bad ones (those are
    /// reported on their own, and the listeners are then not blamed for them).
    fn listeners(&mut self, config: &Config, users_written: bool) {
        let listeners = [
            ("http.listen", Some(config.http.listen)),
            ("syslog.listen", Some(config.syslog.listen)),
            ("syslog.tls_listen", config.syslog.tls_listen),
            ("popcorn.listen", Some(config.popcorn.listen)),
        ];
        if !users_written {
            for (key, addr) in listeners.into_iter().filter_map(|(key, addr)| Some((key, addr?))) {
                if !addr.ip().is_loopback() {
                    let message = format!(
                        "{addr} is not a loopback address and no [[auth.users]] are configured; \
                         add a user with `sift user add NAME` and paste its [[auth.users]] entry \
                         into the config, or listen on 127.0.0.1"
                    );
                    self.errors.push(Error::new(key, message));
                }
            }
        }
        // Syslog takes UDP and TCP, HTTP takes TCP, Popcorn takes UDP.
        if clash(config.syslog.listen, config.http.listen) {
            let message = format!("{} is also http.listen, and both use TCP", config.syslog.listen);
            self.errors.push(Error::new("syslog.listen", message));
        }
        if let Some(tls) = config.syslog.tls_listen {
            for (key, other) in [("http.listen", config.http.listen), ("syslog.listen", config.syslog.listen)] {
                if clash(tls, other) {
                    let message = format!("{tls} is also {key}, and both use TCP");
                    self.errors.push(Error::new("syslog.tls_listen", message));
                }
            }
        }
        if clash(config.popcorn.listen, config.syslog.listen) {
            let message = format!("{} is also syslog.listen, and both use UDP", config.popcorn.listen);
            self.errors.push(Error::new("popcorn.listen", message));
        }
    }
}

/// Whether two listeners of one protocol would fight over a port (port 0 picks a free one).
fn clash(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() != 0 && a.port() == b.port() && (a.ip() == b.ip() || a.ip().is_unspecified() || b.ip().is_unspecified())
}
