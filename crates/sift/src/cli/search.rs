//! `sift search QUERY`: pages through `GET /api/v1/events` (newest first) with the server's
//! cursor until `--limit` events are printed or no page is left, printing each event as
//! `tail` does (or as one JSON line with `--json`). No match is not an error: it prints
//! `no events match` on standard error and exits 0.

use std::process::ExitCode;

use serde::Deserialize;

use super::SearchArgs;
use super::client::{Client, current_thread_runtime};
use super::tail::{ColorChoice, Printer, ignore_closed_output, is_closed_output};

/// The most events asked for in one request; larger limits take several pages.
const PAGE_SIZE: usize = 1000;

/// One page of `GET /api/v1/events`.
#[derive(Debug, Deserialize)]
struct Page {
    events: Vec<serde_json::Value>,
    #[serde(default)]
    next_cursor: Option<String>,
}

pub fn run(args: SearchArgs) -> anyhow::Result<ExitCode> {
    let color = ColorChoice::parse(&args.color)?;
    let client = Client::new(&args.client)?;
    let query = args.query.join(" ");
    let mut printer = Printer::new(args.json, color.enabled());
    let runtime = current_thread_runtime()?;
    let result = runtime.block_on(async {
        let mut printed = 0;
        let mut cursor: Option<String> = None;
        while printed < args.limit {
            let page_limit = (args.limit - printed).min(PAGE_SIZE).to_string();
            let mut params = vec![("limit", page_limit.as_str())];
            if !query.trim().is_empty() {
                params.push(("q", query.as_str()));
            }
            params.extend(args.range.params());
            if let Some(cursor) = &cursor {
                params.push(("cursor", cursor.as_str()));
            }
            let page: Page = client.get_json("/api/v1/events", &params).await?;
            for event in page.events.iter().take(args.limit - printed) {
                printer.event_value(event)?;
                printed += 1;
            }
            printer.flush()?;
            match page.next_cursor {
                Some(next) if !page.events.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        anyhow::Ok(printed)
    });
    match result {
        Ok(printed) => {
            printer.flush().or_else(ignore_closed_output)?;
            if printed == 0 && args.limit > 0 {
                eprintln!("no events match");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if is_closed_output(&error) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error),
    }
}
