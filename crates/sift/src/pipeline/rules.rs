//! The classification rules in force, and their one owner.
//!
//! Rules come from three places, and [`Rules`] is the only thing that changes them:
//! at start the rules stored through the API (if any) beat the configuration file's;
//! `PUT /api/v1/rules` replaces them and stores them ([`Rules::replace`]); SIGHUP brings back the
//! file's rules and forgets the stored ones ([`Rules::reload_from_file`]).
//! The pipeline only reads them, through the shared [`RuleSet`], so a batch is classified
//! entirely with the rules that were current when it started and no event waits while they change.

use std::sync::Arc;

use arc_swap::ArcSwap;
use sift_store::{StateDb, StateError};

use super::classify::{RawRule, Rule, RuleError};

/// Most classification rules in force at once.
pub const MAX_RULES: usize = 1_000;
/// Most bytes all rules' compiled queries may hold together (each query is bounded on its own
/// by the query budget; every event runs every rule, so their sum is what the pipeline holds).
pub const MAX_RULES_COMPILED_BYTES: usize = 64 << 20;

/// Why a set of rules is too large to put in force, if it is: checked for the configuration
/// file's rules, rules set through the API, and rules stored before.
pub fn check_total(rules: &[Rule]) -> Result<(), String> {
    if rules.len() > MAX_RULES {
        return Err(format!("{} rules, at most {MAX_RULES} may be in force", rules.len()));
    }
    let compiled: usize = rules.iter().map(|rule| rule.when.compiled_bytes()).sum();
    if compiled > MAX_RULES_COMPILED_BYTES {
        return Err(format!(
            "the rules' queries compile to {} MiB together, at most {} MiB may be in force: fewer or simpler regexes",
            compiled >> 20,
            MAX_RULES_COMPILED_BYTES >> 20
        ));
    }
    Ok(())
}

/// The rules the pipeline reads: swapped whole, read without a lock.
#[derive(Default)]
pub struct RuleSet(ArcSwap<Vec<Rule>>);

impl RuleSet {
    /// The rules in force now.
    pub fn current(&self) -> Arc<Vec<Rule>> {
        self.0.load_full()
    }

    fn replace(&self, rules: Vec<Rule>) {
        self.0.store(Arc::new(rules));
    }
}

/// Where rules set through the API are kept between restarts: each rule's JSON text, in
/// order, in the state database.
pub struct RuleStorage {
    db: Arc<StateDb>,
}

impl RuleStorage {
    pub fn new(db: Arc<StateDb>) -> RuleStorage {
        RuleStorage { db }
    }

    /// The stored rules, compiled; `None` when none were set through the API.
    fn load(&self) -> anyhow::Result<Option<Vec<Rule>>> {
        let rules = self.load_each()?;
        if let Some(rules) = &rules {
            check_total(rules).map_err(|why| anyhow::anyhow!("the rules stored in the state database: {why}"))?;
        }
        Ok(rules)
    }

    fn load_each(&self) -> anyhow::Result<Option<Vec<Rule>>> {
        let Some(texts) = self.db.rules()? else { return Ok(None) };
        let mut rules = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let raw: RawRule = serde_json::from_str(text).map_err(|error| {
                anyhow::anyhow!("rule {index} stored in the state database is not valid ({error}): {text}")
            })?;
            let rule = Rule::compile(raw, index).map_err(|errors| {
                let reasons: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.key, e.message)).collect();
                anyhow::anyhow!(
                    "rule {index} stored in the state database no longer compiles ({}); replace the rules with PUT /api/v1/rules or reload the file's rules with SIGHUP",
                    reasons.join("; ")
                )
            })?;
            rules.push(rule);
        }
        Ok(Some(rules))
    }

    fn save(&self, rules: &[Rule]) -> Result<(), ReplaceError> {
        let texts: Vec<String> =
            rules.iter().map(|rule| serde_json::to_string(&rule.raw)).collect::<Result<_, _>>().map_err(|error| {
                ReplaceError::Storage(anyhow::anyhow!("a rule could not be written as JSON: {error}"))
            })?;
        self.db.set_rules(&texts).map_err(|error| ReplaceError::Storage(error.into()))
    }

    fn clear(&self) -> Result<(), StateError> {
        self.db.clear_rules()
    }
}

/// The owner of the rules in force.
pub struct Rules {
    set: Arc<RuleSet>,
    storage: RuleStorage,
}

/// Why `PUT /api/v1/rules` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    /// Rules that do not compile: each with its index, its name and what is wrong.
    #[error("{} invalid rule(s)", .0.len())]
    Invalid(Vec<(usize, Option<String>, RuleError)>),
    /// Rules that compile but are too many or too large together.
    #[error("{0}")]
    TooLarge(String),
    #[error("the rules could not be stored: {0:#}")]
    Storage(anyhow::Error),
}

impl Rules {
    /// The rules at start: those stored through the API, else the configuration file's.
    pub fn open(file_rules: Vec<Rule>, storage: RuleStorage) -> anyhow::Result<Rules> {
        let rules = match storage.load()? {
            Some(stored) => {
                tracing::info!(rules = stored.len(), "using the classification rules stored through the API");
                stored
            }
            None => file_rules,
        };
        let set = Arc::new(RuleSet::default());
        set.replace(rules);
        Ok(Rules { set, storage })
    }

    /// The set the pipeline reads.
    pub fn set(&self) -> Arc<RuleSet> {
        Arc::clone(&self.set)
    }

    pub fn current(&self) -> Arc<Vec<Rule>> {
        self.set.current()
    }

    /// Compiles every rule, stores them and puts them in force; with any invalid rule, or if
    /// they cannot be stored, the rules in force stay. Blocking (the state database).
    pub fn replace(&self, raw: Vec<RawRule>) -> Result<usize, ReplaceError> {
        let mut compiled = Vec::with_capacity(raw.len());
        let mut problems = Vec::new();
        for (index, rule) in raw.into_iter().enumerate() {
            let name = rule.name.clone();
            match Rule::compile(rule, index) {
                Ok(rule) => compiled.push(rule),
                Err(errors) => problems.extend(errors.into_iter().map(|e| (index, name.clone(), e))),
            }
        }
        if !problems.is_empty() {
            return Err(ReplaceError::Invalid(problems));
        }
        check_total(&compiled).map_err(ReplaceError::TooLarge)?;
        self.storage.save(&compiled)?;
        let count = compiled.len();
        self.set.replace(compiled);
        tracing::info!(rules = count, "classification rules replaced through the API");
        Ok(count)
    }

    /// Puts the configuration file's rules back in force (SIGHUP), forgetting those stored
    /// through the API, here and after a restart. Blocking (the state database).
    pub fn reload_from_file(&self, rules: Vec<Rule>) -> Result<usize, StateError> {
        self.storage.clear()?;
        let count = rules.len();
        self.set.replace(rules);
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(when: &str) -> RawRule {
        serde_json::from_value(serde_json::json!({ "when": when })).expect("raw rule")
    }

    fn storage() -> RuleStorage {
        RuleStorage::new(Arc::new(StateDb::in_memory().expect("state db")))
    }

    #[test]
    fn rules_set_through_the_api_beat_the_file_until_a_reload() {
        let db = Arc::new(StateDb::in_memory().expect("state db"));
        let file = vec![Rule::compile(raw("app:file"), 0).expect("compiles")];
        let rules = Rules::open(file.clone(), RuleStorage::new(Arc::clone(&db))).expect("open");
        assert_eq!(rules.current()[0].raw.when, "app:file");
        assert_eq!(rules.replace(vec![raw("app:api"), raw("app:api2")]).expect("replace"), 2);
        let reopened = Rules::open(file.clone(), RuleStorage::new(Arc::clone(&db))).expect("reopen");
        assert_eq!(reopened.current().len(), 2, "stored rules survive a restart");
        assert_eq!(reopened.reload_from_file(file.clone()).expect("reload"), 1);
        let again = Rules::open(file, RuleStorage::new(db)).expect("reopen");
        assert_eq!(again.current()[0].raw.when, "app:file", "a reload forgets the stored rules");
    }

    #[test]
    fn rules_too_many_together_change_nothing() {
        let rules = Rules::open(Vec::new(), storage()).expect("open");
        let many = (0..=MAX_RULES).map(|i| raw(&format!("app:a{i}"))).collect();
        assert!(matches!(rules.replace(many), Err(ReplaceError::TooLarge(_))));
        // Each of these regexes fits a query's budget, but not 64 MiB of them together.
        let heavy: Vec<RawRule> = (0..40).map(|i| raw(&format!(r"message:/\w{{60}}{i}/"))).collect();
        let Err(ReplaceError::TooLarge(why)) = rules.replace(heavy) else { panic!("too large together") };
        assert!(why.contains("MiB"), "{why}");
        assert!(rules.current().is_empty());
    }

    #[test]
    fn an_invalid_rule_changes_nothing_and_names_itself() {
        let rules = Rules::open(Vec::new(), storage()).expect("open");
        let Err(ReplaceError::Invalid(problems)) = rules.replace(vec![raw("app:ok"), raw("app:(")]) else {
            panic!("an invalid rule must be refused");
        };
        assert_eq!(problems[0].0, 1);
        assert_eq!(problems[0].2.key, "when");
        assert!(rules.current().is_empty());
    }
}
