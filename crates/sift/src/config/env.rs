//! `SIFT_*` environment variables: `SIFT_<SECTION>_<KEY>` in upper case sets that key
//! (`SIFT_HTTP_LISTEN`, `SIFT_RING_MAX_EVENTS`, `SIFT_DATA_DIR`).
//!
//! Keys hold underscores themselves, so a variable is matched against the names of the known
//! keys rather than split. A value is read as a TOML value where the key accepts it as one
//! (`1000`, `true`, `["a", "b"]`), and as a string otherwise. The variables of the client
//! commands are not settings and are left alone; any other `SIFT_*` variable is an error that
//! names the closest setting, so a typo never goes unnoticed.

use toml::{Table, Value};

use super::Error;
use super::raw::{self, KEYS};

/// Variables that the command line reads for itself.
const CLIENT_VARS: &[&str] = &["SIFT_URL", "SIFT_USER", "SIFT_PASSWORD", "SIFT_CONFIG", "SIFT_NEW_PASSWORD"];

/// Tables that only the file can hold.
const TABLES: &[(&str, &str)] =
    &[("SIFT_CLASSIFY", "[[classify]] rules"), ("SIFT_AUTH_USERS", "[[auth.users]] entries")];

/// The variables of this process, for [`load`](super::load). A value that is not UTF-8 is
/// converted lossily, so that it shows up in an error rather than being skipped.
pub fn process_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(name, value)| {
        let name = name.into_string().ok()?;
        Some((name, value.to_string_lossy().into_owned()))
    })
}

/// The environment variable that sets `key`: `ring.max_events` → `SIFT_RING_MAX_EVENTS`.
pub(super) fn var_name(key: &str) -> String {
    format!("SIFT_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// The keys that `SIFT_*` variables set, each with its value, already checked.
#[derive(Debug, Default)]
pub(super) struct EnvLayer {
    settings: Vec<Setting>,
}

#[derive(Debug)]
struct Setting {
    key: &'static str,
    var: String,
    value: Value,
}

impl EnvLayer {
    /// Reads the `SIFT_*` variables among `vars`; bad ones go to `errors`.
    pub(super) fn read(vars: impl IntoIterator<Item = (String, String)>, errors: &mut Vec<Error>) -> EnvLayer {
        let mut vars: Vec<(String, String)> = vars.into_iter().filter(|(name, _)| name.starts_with("SIFT_")).collect();
        vars.sort();
        let mut settings = Vec::new();
        for (var, text) in vars {
            if CLIENT_VARS.contains(&var.as_str()) {
                continue;
            }
            let path = format!("env {var}");
            if let Some((_, what)) = TABLES.iter().find(|(name, _)| *name == var) {
                errors.push(Error::new(path, format!("{what} can only be set in the config file")));
                continue;
            }
            let Some(key) = KEYS.iter().copied().find(|key| var_name(key) == var) else {
                let closest = closest(&var);
                errors.push(Error::new(
                    path,
                    format!(
                        "unknown variable; the closest setting is {closest} \
                         (`sift config example` lists every key)"
                    ),
                ));
                continue;
            };
            match value(key, &text) {
                Ok(value) => settings.push(Setting { key, var, value }),
                Err(message) => errors.push(Error::new(path, message)),
            }
        }
        EnvLayer { settings }
    }

    /// Writes the settings into the file's table, replacing what the file says.
    pub(super) fn apply(&self, root: &mut Table) {
        for setting in &self.settings {
            match setting.key.split_once('.') {
                None => {
                    root.insert(setting.key.to_owned(), setting.value.clone());
                }
                Some((section, key)) => {
                    let section = root.entry(section.to_owned()).or_insert_with(|| Value::Table(Table::new()));
                    // A section that is not a table is reported by the file's own check.
                    if let Value::Table(section) = section {
                        section.insert(key.to_owned(), setting.value.clone());
                    }
                }
            }
        }
    }

    /// Names the source of `key` in messages: the variable that set it, else the key itself.
    pub(super) fn path(&self, key: &str) -> String {
        match self.settings.iter().find(|s| s.key == key) {
            Some(setting) => format!("env {}", setting.var),
            None => key.to_owned(),
        }
    }
}

/// The value of a variable for `key`: as TOML when the key accepts that, else as a string.
fn value(key: &str, text: &str) -> Result<Value, String> {
    let string = Value::String(text.to_owned());
    let Some(typed) = toml_value(text) else {
        return raw::probe(key, &string).map(|()| string);
    };
    match raw::probe(key, &typed) {
        Ok(()) => Ok(typed),
        Err(message) => raw::probe(key, &string).map(|()| string).map_err(|_| message),
    }
}

/// `text` read as one TOML value (`1000`, `true`, `["a", "b"]`), if it is one.
fn toml_value(text: &str) -> Option<Value> {
    let mut table: Table = format!("value = {text}").parse().ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("value")
}

/// The setting variable most like `var`: the first of its section, else the nearest in
/// spelling.
fn closest(var: &str) -> String {
    let section = format!("{var}_");
    KEYS.iter()
        .map(|key| var_name(key))
        .min_by_key(|name| if name.starts_with(&section) { 0 } else { 1 + edit_distance(var, name) })
        .unwrap_or_default()
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("SIFT_HTTP_LISTNE", "SIFT_HTTP_LISTEN"), 2);
    }
}
