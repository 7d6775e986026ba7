//! The parser: recursive descent over the lexer's tokens, building the boolean structure with
//! NOT (or `-`) binding tighter than AND (written or implicit), and AND tighter than OR.
//! Terms go to [`term::compile`]. It stops at a `|` at the top level, reports unbalanced
//! parentheses and dangling operators at the token where they show, and bounds nesting so that
//! no input can exhaust the stack. Before it compiles anything it checks the query's length
//! and counts its terms, so that a query over those bounds costs only a read of its text; the
//! terms then share one [`Budget`] for what they compile.
//!
//! ```text
//! filter := or? ("|" ... | end)
//! or     := and ("OR" and)*
//! and    := unary ("AND"? unary)*
//! unary  := ("NOT" | "-") unary | "(" or ")" | term
//! ```

use super::budget::{Budget, Limit, MAX_QUERY_BYTES, MAX_TERMS, format_bytes};
use super::eval::{Node, simplify};
use super::lexer::{Kind, Lexer, Token, quote_snippet};
use super::{Fail, char_offset, term};
use crate::Timestamp;

/// How deep parentheses and negations may nest.
const MAX_DEPTH: usize = 100;

/// A parsed filter: its simplified tree, the byte offset where it stopped (a top-level `|`,
/// or the end), and what matching it may cost.
pub(crate) struct Parsed {
    pub root: Node,
    pub stop: usize,
    /// Its terms hold a regex, or there are many of them.
    pub slow: bool,
    /// What its compiled matchers hold, as its budget counted it.
    pub compiled: usize,
}

/// A query with more terms than this may be slow to match even without a regex.
const MANY_TERMS: usize = 64;

/// Parses the filter at the start of `src`.
pub(crate) fn parse_filter(src: &str, now: Timestamp) -> Result<Parsed, Fail> {
    let terms = check_size(src)?;
    let mut parser = Parser { src, lexer: Lexer::new(src), peeked: None, now, depth: 0, budget: Budget::default() };
    let node = match parser.peek()? {
        None | Some(Token { kind: Kind::Pipe, .. }) => Node::All,
        Some(_) => parser.or()?,
    };
    let slow = parser.budget.regexes() > 0 || terms > MANY_TERMS;
    let compiled = parser.budget.used();
    match parser.peeked.take() {
        None => Ok(Parsed { root: simplify(node), stop: src.len(), slow, compiled }),
        Some(Token { kind: Kind::Pipe, start, .. }) => Ok(Parsed { root: simplify(node), stop: start, slow, compiled }),
        Some(Token { kind: Kind::RParen, start, .. }) => {
            Err(Fail::new(start, "end of query", "`)` without a matching `(`"))
        }
        Some(token) => Err(Fail::new(token.start, "end of query", parser.describe(Some(&token)))),
    }
}

/// Checks the query's length (the whole text, pipe stages too) and the number of terms of its
/// filter, without compiling anything, and returns that number. A query the lexer cannot read
/// is left to the parser, which says where.
fn check_size(src: &str) -> Result<usize, Fail> {
    if src.len() > MAX_QUERY_BYTES {
        let expected = format!("a query of at most {} (the query length limit)", format_bytes(MAX_QUERY_BYTES));
        let found = format!("a query of {} bytes", src.len());
        return Err(Fail::new(MAX_QUERY_BYTES, expected, found).because(Limit::QueryBytes));
    }
    let mut lexer = Lexer::new(src);
    let mut terms = 0;
    while let Ok(Some(token)) = lexer.next_token() {
        match token.kind {
            Kind::Pipe => break,
            Kind::Term(_) => terms += 1,
            _ => continue,
        }
        if terms > MAX_TERMS {
            let expected = format!("at most {MAX_TERMS} terms in a query (the term limit)");
            let found = format!("term {terms}, {}", quote_snippet(&src[token.start..token.end]));
            return Err(Fail::new(token.start, expected, found).because(Limit::Terms));
        }
    }
    Ok(terms)
}

struct Parser<'a> {
    src: &'a str,
    lexer: Lexer<'a>,
    /// The next token, once read; `None` also at the end (then reading again is cheap).
    peeked: Option<Token>,
    now: Timestamp,
    depth: usize,
    /// What the terms compiled so far hold.
    budget: Budget,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<Option<&Token>, Fail> {
        if self.peeked.is_none() {
            self.peeked = self.lexer.next_token()?;
        }
        Ok(self.peeked.as_ref())
    }

    fn peek_kind(&mut self) -> Result<Option<&Kind>, Fail> {
        Ok(self.peek()?.map(|t| &t.kind))
    }

    fn or(&mut self) -> Result<Node, Fail> {
        let mut children = vec![self.and()?];
        while let Some(Kind::Or) = self.peek_kind()? {
            self.expect_term_after("`OR`")?;
            children.push(self.and()?);
        }
        Ok(if children.len() == 1 { children.remove(0) } else { Node::Or(children.into()) })
    }

    fn and(&mut self) -> Result<Node, Fail> {
        let mut children = vec![self.unary()?];
        loop {
            match self.peek_kind()? {
                Some(Kind::And) => self.expect_term_after("`AND`")?,
                Some(Kind::Not | Kind::Minus | Kind::LParen | Kind::Term(_)) => {}
                _ => break,
            }
            children.push(self.unary()?);
        }
        Ok(if children.len() == 1 { children.remove(0) } else { Node::And(children.into()) })
    }

    fn unary(&mut self) -> Result<Node, Fail> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => match self.lexer.next_token()? {
                Some(token) => token,
                None => return Err(Fail::new(self.src.len(), "a term", "end of query")),
            },
        };
        match token.kind {
            Kind::Not | Kind::Minus => {
                let what = if matches!(token.kind, Kind::Not) { "`NOT`" } else { "`-`" };
                self.enter(&token)?;
                self.expect_term(what)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Node::Not(Box::new(inner)))
            }
            Kind::LParen => {
                self.enter(&token)?;
                self.expect_term("`(`")?;
                let inner = self.or()?;
                match self.peeked.take() {
                    Some(Token { kind: Kind::RParen, .. }) => {
                        self.depth -= 1;
                        Ok(inner)
                    }
                    other => {
                        let at = other.as_ref().map_or(self.src.len(), |t| t.start);
                        let expected =
                            format!("`)` to close the `(` at position {}", char_offset(self.src, token.start));
                        Err(Fail::new(at, expected, self.describe(other.as_ref())))
                    }
                }
            }
            Kind::Term(term) => term::compile(term, token.start, self.src, self.now, &mut self.budget),
            _ => Err(Fail::new(token.start, "a term", self.describe(Some(&token)))),
        }
    }

    /// Consumes the peeked operator token and checks that a term follows it.
    fn expect_term_after(&mut self, what: &str) -> Result<(), Fail> {
        self.peeked = None;
        self.expect_term(what)
    }

    /// Checks that the next token can start a term; `what` is the operator before it.
    fn expect_term(&mut self, what: &str) -> Result<(), Fail> {
        let len = self.src.len();
        match self.peek()? {
            Some(Token { kind: Kind::Not | Kind::Minus | Kind::LParen | Kind::Term(_), .. }) => Ok(()),
            other => {
                let at = other.map_or(len, |t| t.start);
                let found = self.describe(self.peeked.as_ref());
                Err(Fail::new(at, format!("a term after {what}"), found))
            }
        }
    }

    /// One more level of nesting at `token`, within [`MAX_DEPTH`].
    fn enter(&mut self, token: &Token) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let expected = format!("at most {MAX_DEPTH} nested parentheses and negations");
            return Err(Fail::new(token.start, expected, self.describe(Some(token))));
        }
        Ok(())
    }

    fn describe(&self, token: Option<&Token>) -> String {
        match token {
            None => "end of query".to_owned(),
            Some(token) => quote_snippet(&self.src[token.start..token.end]),
        }
    }
}
