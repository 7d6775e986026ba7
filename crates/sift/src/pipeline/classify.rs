//! Classification: ordered rules, each a query (`when`) and what to set on matching events
//! (type, tags, severity, fields), optionally stopping further rules. DESIGN.md section 5.
//!
//! The same rule shape is read from the config file (`[[classify]]`) and from
//! `PUT /api/v1/rules`, so both go through [`RawRule`] and [`Rule::compile`].

use serde::{Deserialize, Serialize};
use sift_core::query::Query;
use sift_core::{Event, Fields, Severity, Str};

/// A rule as written by a person, before validation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// A name for messages and the API; defaults to `rule N`.
    #[serde(default)]
    pub name: Option<String>,
    /// The query events must match.
    pub when: String,
    /// What to set on matching events.
    #[serde(default)]
    pub set: RawSet,
    /// Whether later rules are skipped for matching events.
    #[serde(default)]
    pub stop: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSet {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub when: Query,
    pub set_kind: Option<Str>,
    pub add_tags: Vec<Str>,
    pub set_severity: Option<Severity>,
    pub set_fields: Fields,
    pub stop: bool,
    /// The text the rule was compiled from, for `GET /api/v1/rules`.
    pub raw: RawRule,
}

/// A rule that does not compile: which part, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Key path inside the rule: `when`, `set.severity`.
    pub key: &'static str,
    pub message: String,
}

impl Rule {
    /// Validates a raw rule; `index` names it when it has no name.
    pub fn compile(raw: RawRule, index: usize) -> Result<Rule, Vec<RuleError>> {
        let mut errors = Vec::new();
        let when =
            Query::parse(&raw.when).map_err(|e| errors.push(RuleError { key: "when", message: e.to_string() })).ok();
        let set_severity = match &raw.set.severity {
            None => None,
            Some(s) => match s.parse::<Severity>() {
                Ok(severity) => Some(severity),
                Err(e) => {
                    errors.push(RuleError { key: "set.severity", message: e.to_string() });
                    None
                }
            },
        };
        if raw.set.tags.iter().any(|t| t.is_empty()) {
            errors.push(RuleError { key: "set.tags", message: "tags must not be empty".into() });
        }
        let Some(when) = when else { return Err(errors) };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Rule {
            name: raw.name.clone().unwrap_or_else(|| format!("rule {}", index + 1)),
            when,
            set_kind: raw.set.kind.as_deref().and_then(sift_core::event::non_empty),
            add_tags: raw.set.tags.iter().map(|t| Str::from(t.as_str())).collect(),
            set_severity,
            set_fields: raw.set.fields.clone().unwrap_or_default(),
            stop: raw.stop,
            raw,
        })
    }
}

/// Applies the rules in order to one event.
pub fn classify(rules: &[Rule], event: &mut Event) {
    for rule in rules {
        if !rule.when.matches(event) {
            continue;
        }
        if let Some(kind) = &rule.set_kind {
            event.kind = Some(kind.clone());
        }
        for tag in &rule.add_tags {
            if !event.tags.contains(tag) {
                event.tags.push(tag.clone());
            }
        }
        if let Some(severity) = rule.set_severity {
            event.severity = severity;
        }
        for (key, value) in &rule.set_fields {
            event.fields.insert(key.clone(), value.clone());
        }
        if rule.stop {
            break;
        }
    }
}
