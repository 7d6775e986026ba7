//! Parsing the stages after the filter: a small lexer (words, `(`, `)`, `,`, `|`) and one
//! function per stage. While it parses it tracks the columns each stage leaves, so that a
//! `sort` or `fields` naming a column that does not exist fails here, with its position,
//! rather than silently when the query runs. Offsets are bytes into the whole query.
//!
//! ```text
//! stages    := ("|" stage)*
//! stage     := stats | timechart | top | sort | limit | fields
//! stats     := "stats" aggs ("by" field ("," field)*)?
//! timechart := "timechart" STEP aggs ("by" field)?
//! top       := "top" N? field
//! sort      := "sort" key ("," key)*          key := ("-" | "+")? column
//! limit     := "limit" N
//! fields    := "fields" column ("," column)*
//! aggs      := agg ("," agg)*                 agg := FUNC "(" field? ")" ("as" NAME)? | "count"
//! ```
//!
//! `stats`, `timechart` and `top` may only be the first stage.

use super::aggregate::{Agg, FUNCTIONS, Func};
use super::events::{DEFAULT_COLUMNS, DEFAULT_ROWS, EventPlan, EventStep, MAX_ROWS, SortKey};
use super::groups::GroupSpec;
use super::table::{Reduce, TablePlan, TableStep};
use super::value::{BadField, FieldRef, Getter};
use super::{Plan, Stage, StageKind};
use crate::query::Fail;
use crate::query::lexer::quote_snippet;
use crate::query::term::unknown_field;
use crate::time::parse_duration_micros;

/// Groups a run holds at most.
pub(crate) const MAX_GROUPS: usize = 100_000;
/// Groups a run holds at most when an aggregate keeps a sketch per group (percentiles,
/// `count_distinct`).
pub(crate) const MAX_SKETCH_GROUPS: usize = 10_000;
const MAX_BY: usize = 8;
const MAX_AGGS: usize = 32;
const STAGES: &str = "a stage (stats, timechart, top, sort, limit, fields)";

/// Parses the stages from `start`, the offset of the first `|` (or the end).
pub(crate) fn parse_stages(src: &str, start: usize) -> Result<(Plan, Vec<Stage>), Fail> {
    let mut parser = Parser { lexer: Lexer { src, pos: start.min(src.len()) } };
    let mut stages = Vec::new();
    let mut columns = Columns::Events(None);
    let mut reduce: Option<(Reduce, GroupSpec)> = None;
    let mut table_steps = Vec::new();
    let mut event_steps = Vec::new();
    // What else may follow the last stage, for the error when something else does.
    let mut follows: Option<&str> = None;
    loop {
        let token = parser.lexer.next();
        match token.kind {
            Kind::End => break,
            Kind::Pipe => {}
            _ => {
                let expected = match follows {
                    Some(more) => format!("{more}, `|` or end of query"),
                    None => "`|` or end of query".to_owned(),
                };
                return Err(parser.fail(token, &expected));
            }
        }
        let head = parser.lexer.next();
        let keyword = if head.kind == Kind::Word { head.text.to_ascii_lowercase() } else { String::new() };
        let kind = match keyword.as_str() {
            "stats" => StageKind::Stats,
            "timechart" => StageKind::Timechart,
            "top" => StageKind::Top,
            "sort" => StageKind::Sort,
            "limit" => StageKind::Limit,
            "fields" => StageKind::Fields,
            _ => return Err(parser.fail(head, STAGES)),
        };
        let reducing = matches!(kind, StageKind::Stats | StageKind::Timechart | StageKind::Top);
        if reducing && !stages.is_empty() {
            let expected = "`sort`, `limit` or `fields` (`stats`, `timechart` and `top` must be the first stage)";
            return Err(parser.fail(head, expected));
        }
        follows = match kind {
            StageKind::Stats | StageKind::Timechart => {
                let step = match kind {
                    StageKind::Timechart => Some(parser.step()?),
                    _ => None,
                };
                let aggs = parser.aggs()?;
                let by = match (parser.keyword("by"), step) {
                    (false, _) => Vec::new(),
                    (true, None) => parser.fields("a field after `by`", MAX_BY)?,
                    (true, Some(_)) => vec![parser.field("a field after `by`")?],
                };
                columns = match (step, by.is_empty()) {
                    (Some(_), false) => Columns::Dynamic,
                    (Some(_), true) => Columns::table(["time".to_owned()], &aggs)?,
                    (None, _) => Columns::table(by.iter().map(|f| f.name.clone()), &aggs)?,
                };
                let max_groups =
                    if aggs.iter().any(|parsed| parsed.agg.func.is_heavy()) { MAX_SKETCH_GROUPS } else { MAX_GROUPS };
                let aggs = aggs.into_iter().map(|parsed| parsed.agg).collect();
                let reducer = if step.is_some() { Reduce::Timechart } else { Reduce::Stats };
                let follows = match (by.is_empty(), step) {
                    (true, _) => Some("`,`, `by`"),
                    (false, None) => Some("`,`"),
                    (false, Some(_)) => None,
                };
                reduce = Some((reducer, GroupSpec { step, by, aggs, max_groups }));
                follows
            }
            StageKind::Top => {
                let first = parser.lexer.next();
                let (n, field) = match first.text.parse::<usize>() {
                    Ok(n) if first.kind == Kind::Word => (n, parser.field(&format!("a field after `top {n}`"))?),
                    _ => (10, parser.field_at(first, "a number or a field after `top`")?),
                };
                let names = [field.name.clone(), "count".to_owned()];
                columns = Columns::Known(names.into_iter().map(|name| Column { name, alias: None }).collect());
                let spec = GroupSpec { step: None, by: vec![field], aggs: Vec::new(), max_groups: MAX_GROUPS };
                reduce = Some((Reduce::Top(n), spec));
                None
            }
            StageKind::Sort => {
                let keys = parser.sort_keys(&columns)?;
                match keys {
                    SortKeys::Events(keys) => event_steps.push(Step::Sort(keys)),
                    SortKeys::Table(keys) => table_steps.push(TableStep::Sort(keys)),
                }
                Some("`,`")
            }
            StageKind::Limit => {
                let token = parser.lexer.next();
                let n = match token.text.parse::<usize>() {
                    Ok(n) if token.kind == Kind::Word => n,
                    _ => return Err(parser.fail(token, "a number after `limit`")),
                };
                event_steps.push(Step::Limit(n));
                table_steps.push(TableStep::Limit(n));
                None
            }
            StageKind::Fields => {
                match &columns {
                    Columns::Events(_) => {
                        let mut fields = Vec::new();
                        for (field, at) in parser.field_list("a field after `fields`", usize::MAX)? {
                            columns.check_event_field(&field.name, at)?;
                            fields.push(field);
                        }
                        columns = Columns::Events(Some(fields.iter().map(|f| f.name.clone()).collect()));
                        event_steps.push(Step::Fields(fields));
                    }
                    _ => {
                        let names = parser.columns(&columns)?;
                        columns = columns.select(&names);
                        table_steps.push(TableStep::Fields(names));
                    }
                }
                Some("`,`")
            }
        };
        let end = parser.lexer.peek().at;
        let text = src.get(head.at..end).unwrap_or("").trim().to_owned();
        stages.push(Stage { kind, text });
    }
    let plan = match reduce {
        Some((reduce, spec)) => Plan::Table(TablePlan { reduce, spec, steps: table_steps }),
        None => Plan::Events(event_plan(event_steps)),
    };
    Ok((plan, stages))
}

/// A stage over events, before the plan is made.
enum Step {
    Sort(Vec<SortKey>),
    Limit(usize),
    Fields(Vec<FieldRef>),
}

/// The sorts up to the first limit make the order the run keeps events in; the stages after
/// it run on the kept events.
fn event_plan(steps: Vec<Step>) -> EventPlan {
    let mut plan =
        EventPlan { order: Vec::new(), keep: DEFAULT_ROWS, limit: None, steps: Vec::new(), columns: Vec::new() };
    let mut sorts_before_limit = Vec::new();
    for step in steps {
        match step {
            Step::Fields(fields) => plan.columns = fields,
            Step::Sort(keys) if plan.limit.is_none() => sorts_before_limit.push(keys),
            Step::Limit(n) if plan.limit.is_none() => {
                plan.limit = Some(n);
                plan.keep = n.min(MAX_ROWS);
            }
            Step::Sort(keys) => plan.steps.push(EventStep::Sort(keys)),
            Step::Limit(n) => plan.steps.push(EventStep::Limit(n)),
        }
    }
    // Stable sorts one after the other: the last one decides first.
    plan.order = sorts_before_limit.into_iter().rev().flatten().collect();
    if plan.columns.is_empty() {
        plan.columns = DEFAULT_COLUMNS
            .iter()
            .filter_map(|&name| Getter::lookup(name).ok().map(|get| FieldRef { name: name.to_owned(), get }))
            .collect();
    }
    plan
}

/// What a stage's columns are, for checking the names later stages use.
enum Columns {
    /// Rows are events: every field, or those a `fields` stage kept.
    Events(Option<Vec<String>>),
    Known(Vec<Column>),
    /// `timechart ... by F`: besides `time`, the columns are named after the data.
    Dynamic,
}

struct Column {
    name: String,
    /// The function name an aggregate's column also answers to (`p99`), when unambiguous.
    alias: Option<String>,
}

impl Columns {
    /// The columns of a grouping stage; two columns may not share a name.
    fn table(keys: impl IntoIterator<Item = String>, aggs: &[ParsedAgg]) -> Result<Columns, Fail> {
        let mut columns: Vec<Column> = keys.into_iter().map(|name| Column { name, alias: None }).collect();
        for ParsedAgg { agg, alias, at } in aggs {
            if columns.iter().any(|c| c.name == agg.name) {
                let expected = "a column name not used yet (name this one with `as NAME`)";
                return Err(Fail::new(*at, expected, quote_snippet(&agg.name)));
            }
            columns.push(Column { name: agg.name.clone(), alias: alias.clone() });
        }
        Ok(Columns::Known(columns))
    }

    /// The column `name` refers to: its exact name, else a unique column whose name matches
    /// ignoring case or whose aggregate function it names (`p99`).
    fn resolve(&self, name: &str, at: usize) -> Result<String, Fail> {
        let columns = match self {
            Columns::Known(columns) => columns,
            _ => return Ok(name.to_owned()),
        };
        if let Some(column) = columns.iter().find(|c| c.name == name) {
            return Ok(column.name.clone());
        }
        let matching: Vec<&Column> = columns
            .iter()
            .filter(|c| {
                c.name.eq_ignore_ascii_case(name) || c.alias.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(name))
            })
            .collect();
        let list = |columns: &mut dyn Iterator<Item = &Column>| {
            columns.map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        };
        match matching.as_slice() {
            [column] => Ok(column.name.clone()),
            [] => Err(Fail::new(at, format!("a column ({})", list(&mut columns.iter())), quote_snippet(name))),
            _ => Err(Fail::new(
                at,
                format!("one column ({} share that name)", list(&mut matching.iter().copied())),
                quote_snippet(name),
            )),
        }
    }

    fn select(&self, names: &[String]) -> Columns {
        match self {
            Columns::Known(columns) => Columns::Known(
                names
                    .iter()
                    .map(|name| Column {
                        name: name.clone(),
                        alias: columns.iter().find(|c| &c.name == name).and_then(|c| c.alias.clone()),
                    })
                    .collect(),
            ),
            _ => Columns::Dynamic,
        }
    }

    /// Over events, a field a previous `fields` stage dropped cannot be used.
    fn check_event_field(&self, name: &str, at: usize) -> Result<(), Fail> {
        match self {
            Columns::Events(Some(kept)) if !kept.iter().any(|k| k.eq_ignore_ascii_case(name)) => Err(Fail::new(
                at,
                format!("one of the fields kept by `fields` ({})", kept.join(", ")),
                quote_snippet(name),
            )),
            _ => Ok(()),
        }
    }
}

/// An aggregate, the function name its column also answers to, and where it was written.
struct ParsedAgg {
    agg: Agg,
    alias: Option<String>,
    at: usize,
}

enum SortKeys {
    Events(Vec<SortKey>),
    Table(Vec<(String, bool)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Open,
    Close,
    Comma,
    Pipe,
    End,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    at: usize,
}

/// Words run up to whitespace or one of `(`, `)`, `,`, `|`.
#[derive(Clone)]
struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Token<'a> {
        let rest = self.src.get(self.pos..).unwrap_or("");
        let trimmed = rest.trim_start();
        let at = self.pos + rest.len() - trimmed.len();
        let (kind, len) = match trimmed.chars().next() {
            None => (Kind::End, 0),
            Some('(') => (Kind::Open, 1),
            Some(')') => (Kind::Close, 1),
            Some(',') => (Kind::Comma, 1),
            Some('|') => (Kind::Pipe, 1),
            Some(_) => {
                let len = trimmed
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '|'))
                    .unwrap_or(trimmed.len());
                (Kind::Word, len)
            }
        };
        self.pos = at + len;
        Token { kind, text: &trimmed[..len], at }
    }

    fn peek(&self) -> Token<'a> {
        self.clone().next()
    }
}

struct Parser<'a> {
    lexer: Lexer<'a>,
}

impl Parser<'_> {
    fn fail(&self, token: Token<'_>, expected: &str) -> Fail {
        let found = match token.kind {
            Kind::End => "end of query".to_owned(),
            Kind::Word => quote_snippet(token.text),
            _ => format!("`{}`", token.text),
        };
        Fail::new(token.at, expected, found)
    }

    /// Consumes the next token if it is the word `keyword`, in any case.
    fn keyword(&mut self, keyword: &str) -> bool {
        let token = self.lexer.peek();
        let found = token.kind == Kind::Word && token.text.eq_ignore_ascii_case(keyword);
        if found {
            self.lexer.next();
        }
        found
    }

    fn expect(&mut self, kind: Kind, expected: &str) -> Result<(), Fail> {
        let token = self.lexer.next();
        if token.kind == kind { Ok(()) } else { Err(self.fail(token, expected)) }
    }

    fn step(&mut self) -> Result<i64, Fail> {
        let token = self.lexer.next();
        match parse_duration_micros(token.text) {
            Some(step) if step > 0 && token.kind == Kind::Word => Ok(step),
            _ => Err(self.fail(token, "a step such as 1m, 5m or 1h after `timechart`")),
        }
    }

    fn field(&mut self, expected: &str) -> Result<FieldRef, Fail> {
        let token = self.lexer.next();
        self.field_at(token, expected)
    }

    fn field_at(&self, token: Token<'_>, expected: &str) -> Result<FieldRef, Fail> {
        if token.kind != Kind::Word {
            return Err(self.fail(token, expected));
        }
        match Getter::lookup(token.text) {
            Ok(get) => Ok(FieldRef { name: token.text.to_owned(), get }),
            Err(BadField::Unknown) => Err(unknown_field(token.text, token.at)),
            Err(BadField::EmptyPathPart) => Err(self.fail(token, "a field path such as `fields.a.b` (no empty parts)")),
        }
    }

    /// Fields separated by commas, at most `max`.
    fn fields(&mut self, expected: &str, max: usize) -> Result<Vec<FieldRef>, Fail> {
        Ok(self.field_list(expected, max)?.into_iter().map(|(field, _)| field).collect())
    }

    /// Fields separated by commas, at most `max`, with where each was written.
    fn field_list(&mut self, expected: &str, max: usize) -> Result<Vec<(FieldRef, usize)>, Fail> {
        let mut fields = Vec::new();
        let mut expected = expected;
        loop {
            let token = self.lexer.next();
            if fields.len() == max {
                return Err(self.fail(token, &format!("at most {max} fields")));
            }
            fields.push((self.field_at(token, expected)?, token.at));
            if self.lexer.peek().kind != Kind::Comma {
                return Ok(fields);
            }
            self.lexer.next();
            expected = "a field after `,`";
        }
    }

    /// Aggregates separated by commas, each with the function name its column answers to.
    fn aggs(&mut self) -> Result<Vec<ParsedAgg>, Fail> {
        let mut aggs = vec![self.agg()?];
        while self.lexer.peek().kind == Kind::Comma {
            self.lexer.next();
            if aggs.len() == MAX_AGGS {
                return Err(self.fail(self.lexer.peek(), &format!("at most {MAX_AGGS} aggregates")));
            }
            aggs.push(self.agg()?);
        }
        Ok(aggs)
    }

    fn agg(&mut self) -> Result<ParsedAgg, Fail> {
        let token = self.lexer.next();
        let expected = format!("an aggregate ({FUNCTIONS})");
        let Some((func, fname)) = Func::lookup(token.text).filter(|_| token.kind == Kind::Word) else {
            return Err(self.fail(token, &expected));
        };
        let open = self.lexer.peek();
        let input = if open.kind == Kind::Open {
            self.lexer.next();
            let inner = self.lexer.next();
            match inner.kind {
                Kind::Close if func == Func::Count => None,
                _ => {
                    let field = self.field_at(inner, &format!("a field in `{fname}(`"))?;
                    self.check_input(func, &field, inner.at)?;
                    self.expect(Kind::Close, &format!("`)` to close `{fname}(`"))?;
                    Some(field)
                }
            }
        } else if func == Func::Count {
            None
        } else {
            return Err(self.fail(open, &format!("`(` after `{fname}`")));
        };
        let default = match &input {
            None => fname.clone(),
            Some(field) => format!("{fname}({})", field.name),
        };
        let (name, alias) = if self.keyword("as") {
            let token = self.lexer.next();
            if token.kind != Kind::Word {
                return Err(self.fail(token, "a column name after `as`"));
            }
            (token.text.to_owned(), None)
        } else {
            let alias = (default != fname).then_some(fname);
            (default, alias)
        };
        Ok(ParsedAgg { agg: Agg { func, input, name }, alias, at: token.at })
    }

    /// Functions of numbers cannot read ids, nor times but for `min` and `max`.
    fn check_input(&self, func: Func, field: &FieldRef, at: usize) -> Result<(), Fail> {
        let bad =
            func.numeric() && (field.get.is_id() || (field.get.is_time() && !matches!(func, Func::Min | Func::Max)));
        if bad {
            return Err(Fail::new(at, "a field that holds numbers", quote_snippet(&field.name)));
        }
        Ok(())
    }

    fn sort_keys(&mut self, columns: &Columns) -> Result<SortKeys, Fail> {
        let mut events = Vec::new();
        let mut table = Vec::new();
        loop {
            let (name, at, descending) = self.sort_key()?;
            match columns {
                Columns::Events(_) => {
                    let get = match Getter::lookup(&name) {
                        Ok(get) => get,
                        Err(BadField::Unknown) => return Err(unknown_field(&name, at)),
                        Err(BadField::EmptyPathPart) => {
                            return Err(Fail::new(at, "a field path such as `fields.a.b`", quote_snippet(&name)));
                        }
                    };
                    columns.check_event_field(&name, at)?;
                    events.push(SortKey { field: FieldRef { name, get }, descending });
                }
                _ => table.push((columns.resolve(&name, at)?, descending)),
            }
            if self.lexer.peek().kind != Kind::Comma {
                break;
            }
            self.lexer.next();
        }
        Ok(if matches!(columns, Columns::Events(_)) { SortKeys::Events(events) } else { SortKeys::Table(table) })
    }

    /// `[-|+]column`: the column text, where it starts, and whether it sorts descending.
    fn sort_key(&mut self) -> Result<(String, usize, bool), Fail> {
        let token = self.lexer.next();
        let sign = token.text.chars().next().filter(|&c| token.kind == Kind::Word && matches!(c, '-' | '+'));
        let token = match sign {
            Some(_) if token.text.len() == 1 => self.lexer.next(),
            Some(_) => Token { kind: token.kind, text: &token.text[1..], at: token.at + 1 },
            None => token,
        };
        let (text, at) = self.column_at(token, "a column after `sort`")?;
        Ok((text, at, sign == Some('-')))
    }

    /// A column: `name` or `func(arg)` (an aggregate's column as written).
    fn column_at(&mut self, token: Token<'_>, expected: &str) -> Result<(String, usize), Fail> {
        if token.kind != Kind::Word {
            return Err(self.fail(token, expected));
        }
        let mut text = token.text.to_owned();
        if self.lexer.peek().kind == Kind::Open {
            self.lexer.next();
            let inner = self.lexer.next();
            match inner.kind {
                Kind::Close => {}
                Kind::Word => {
                    text = format!("{text}({})", inner.text);
                    self.expect(Kind::Close, "`)`")?;
                }
                _ => return Err(self.fail(inner, "a field or `)`")),
            }
        }
        Ok((text, token.at))
    }

    /// Column names separated by commas, resolved against `columns`.
    fn columns(&mut self, columns: &Columns) -> Result<Vec<String>, Fail> {
        let mut names = Vec::new();
        loop {
            let token = self.lexer.next();
            let (name, at) = self.column_at(token, "a column after `fields`")?;
            let name = columns.resolve(&name, at)?;
            if names.contains(&name) {
                return Err(Fail::new(at, "each column once", quote_snippet(&name)));
            }
            names.push(name);
            if self.lexer.peek().kind != Kind::Comma {
                return Ok(names);
            }
            self.lexer.next();
        }
    }
}
