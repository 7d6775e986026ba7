//! `sift query "FILTER | stages"`: runs `GET /api/v1/query` and prints the table it answers,
//! aligned for a terminal, or as JSON (`--json`) or CSV (`--csv`).
//!
//! The aligned table is for a person: its cells, column names and notes have their control
//! characters escaped ([`super::escape`]), as log content is attacker-controlled. `--json` is
//! JSON, whose strings escape them already. `--csv` is data for a program (a spreadsheet, a
//! script): cells are written as they are, quoted per RFC 4180 when they hold a comma, a quote
//! or a line break, so a program reads back exactly what was logged.

use std::io::Write;
use std::process::ExitCode;

use serde::Deserialize;
use serde_json::Value;

use super::QueryArgs;
use super::client::{Client, current_thread_runtime};
use super::escape::{Escaped, escaped};
use super::tail::is_closed_output;

/// The answer of `GET /api/v1/query`.
#[derive(Debug, Deserialize)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    #[serde(default)]
    notes: Vec<String>,
}

pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let query = args.query.join(" ");
    let runtime = current_thread_runtime()?;
    let answer: anyhow::Result<Value> = runtime.block_on(async {
        let mut params = vec![("q", query.as_str())];
        params.extend(args.range.params());
        Ok(client.get_json("/api/v1/query", &params).await?)
    });
    let answer = answer?;
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        writeln!(out, "{answer}").map_err(anyhow::Error::from)
    } else {
        let table: Table = serde_json::from_value(answer)?;
        for note in &table.notes {
            eprintln!("note: {}", Escaped(note));
        }
        if args.csv { write_csv(&mut out, &table) } else { write_aligned(&mut out, &table) }
    };
    match printed.and_then(|()| out.flush().map_err(anyhow::Error::from)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) if is_closed_output(&error) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error),
    }
}

/// A cell as text: strings bare, null empty, anything else as JSON.
fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The table aligned in columns, every text escaped.
fn write_aligned(out: &mut impl Write, table: &Table) -> anyhow::Result<()> {
    let columns: Vec<String> = table.columns.iter().map(|c| escaped(c)).collect();
    let cells: Vec<Vec<String>> =
        table.rows.iter().map(|row| row.iter().map(|value| escaped(&cell(value))).collect()).collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (width, text) in widths.iter_mut().zip(row) {
            *width = (*width).max(text.chars().count());
        }
    }
    let line = |out: &mut dyn Write, texts: &[String]| -> std::io::Result<()> {
        let padded: Vec<String> = texts.iter().zip(&widths).map(|(t, w)| format!("{t:<w$}")).collect();
        writeln!(out, "{}", padded.join("  ").trim_end())
    };
    line(out, &columns)?;
    line(out, &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>())?;
    for row in &cells {
        line(out, row)?;
    }
    Ok(())
}

/// The table as RFC 4180 CSV, every text as it is.
fn write_csv(out: &mut impl Write, table: &Table) -> anyhow::Result<()> {
    let quote = |text: &str| {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_owned()
        }
    };
    writeln!(out, "{}", table.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","))?;
    for row in &table.rows {
        writeln!(out, "{}", row.iter().map(|v| quote(&cell(v))).collect::<Vec<_>>().join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn table() -> Table {
        Table {
            columns: vec!["app".into(), "count".into()],
            rows: vec![vec![json!("api"), json!(12)], vec![json!("a, \"b\""), json!(null)]],
            notes: vec![],
        }
    }

    #[test]
    fn aligned_table() {
        let mut out = Vec::new();
        write_aligned(&mut out, &table()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "app     count\n------  -----\napi     12\na, \"b\"\n");
    }

    #[test]
    fn r_query_table_escapes_control_characters() {
        let table = Table {
            columns: vec!["message\u{1b}[2J".into()],
            rows: vec![vec![json!("\u{1b}[31mred\u{1b}]0;x\u{7}\nnext")]],
            notes: vec![],
        };
        let mut out = Vec::new();
        write_aligned(&mut out, &table).unwrap();
        let out = String::from_utf8(out).unwrap();
        let cell = r"\u{1b}[31mred\u{1b}]0;x\u{7}\nnext";
        assert_eq!(out, format!("message\\u{{1b}}[2J\n{}\n{cell}\n", "-".repeat(cell.len())));
    }

    #[test]
    fn csv_keeps_the_data_and_quotes_line_breaks() {
        let table = Table { columns: vec!["m".into()], rows: vec![vec![json!("a\u{1b}[31m\nb")]], notes: vec![] };
        let mut out = Vec::new();
        write_csv(&mut out, &table).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "m\n\"a\u{1b}[31m\nb\"\n");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = Vec::new();
        write_csv(&mut out, &table()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "app,count\napi,12\n\"a, \"\"b\"\"\",\n");
    }
}
