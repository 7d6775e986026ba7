//! Credentials: argon2id password hashes in PHC form (`$argon2id$v=19$m=19456,t=2,p=1$…`),
//! made by `sift user add`, checked when the config loads, and verified by the server's
//! HTTP Basic authentication. Verifying costs tens of milliseconds by design, so callers
//! cache successful checks.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params};

/// Hashes a password with argon2id, default parameters and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches `phc_hash`. A hash that does not parse matches nothing.
pub fn verify_password(phc_hash: &str, password: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc_hash) else {
        return false;
    };
    Argon2::default().verify_password(password.as_bytes(), &hash).is_ok()
}

/// Checks that `phc_hash` is an argon2 hash that [`verify_password`] can use.
pub(super) fn check_hash(phc_hash: &str) -> Result<(), String> {
    let hash = PasswordHash::new(phc_hash).map_err(|e| format!("not an argon2 hash: {e}"))?;
    Algorithm::try_from(hash.algorithm).map_err(|_| {
        format!("not an argon2 hash: algorithm {:?} is not argon2id, argon2i or argon2d", hash.algorithm.as_str())
    })?;
    Params::try_from(&hash).map_err(|e| format!("not an argon2 hash: {e}"))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err("not an argon2 hash: it has no salt or no hash output".into());
    }
    Ok(())
}

/// Checks a user name: HTTP Basic cannot carry an empty one, a `:` or control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a user name must not be empty".into());
    }
    if name.contains(':') {
        return Err(format!("user name {name:?} contains ':', which HTTP Basic cannot carry"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("user name {name:?} contains control characters"));
    }
    Ok(())
}

/// The `[[auth.users]]` entry to paste into the config file.
pub fn entry(name: &str, phc_hash: &str) -> String {
    let name = toml::Value::String(name.to_owned());
    let hash = toml::Value::String(phc_hash.to_owned());
    format!("[[auth.users]]\nname = {name}\npassword_hash = {hash}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify_round_trip() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert_eq!(check_hash(&hash), Ok(()));
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horse "));
        assert!(!verify_password("not a hash", "correct horse"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salts are random");
    }

    #[test]
    fn entry_is_toml() {
        let block = entry("al\"ice", "$argon2id$v=19$x");
        expect_test::expect![[r#"
            [[auth.users]]
            name = 'al"ice'
            password_hash = "$argon2id$v=19$x"
        "#]]
        .assert_eq(&block);
        let table: toml::Table = block.parse().unwrap();
        assert_eq!(table["auth"]["users"][0]["name"].as_str(), Some("al\"ice"));
    }

    #[test]
    fn names() {
        assert!(check_name("alice").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a:b").is_err());
        assert!(check_name("a\nb").is_err());
    }
}
