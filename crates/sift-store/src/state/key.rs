//! The state database's key: 32 random bytes in `state.key` beside `state.db`, made on the
//! first open, `0600`. Logplex tokens are stored only as hashes keyed with it (BLAKE2b-256 in
//! its keyed mode, RFC 7693), so that `state.db` alone (a copy, a backup, a file another user
//! could read) holds no token and cannot even tell whether a guess is one
//! (docs/adr/0013-token-hashes.md).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use blake2::Blake2bMac;
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};
use rand::RngCore;

use crate::private;

/// The key's length in bytes.
const KEY_LEN: usize = 32;

/// A keyed hash of a token: what the database stores and looks tokens up by.
pub type TokenHash = [u8; 32];

/// A secret key for keyed hashes: the state database's (its tokens), or a process's own for
/// what it must recognise without keeping (the HTTP credential cache).
#[derive(Clone)]
pub struct StateKey([u8; KEY_LEN]);

impl StateKey {
    /// A key of this process alone (a database in memory).
    pub fn random() -> StateKey {
        let mut key = [0; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        StateKey(key)
    }

    /// Reads the key at `path`, or makes it (`0600`, synced with its directory) if there is
    /// none. A file of another length is damage, and an error: with another key no stored
    /// token would be found again.
    pub fn load_or_create(path: &Path) -> io::Result<StateKey> {
        match fs::read(path) {
            Ok(bytes) => {
                let key: [u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    io::Error::other(format!(
                        "it holds {} bytes where a key has {KEY_LEN}: restore it from the backup of this data directory \
                         (without it no channel token can be checked)",
                        bytes.len()
                    ))
                })?;
                Ok(StateKey(key))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let key = StateKey::random();
                let mut file = private::create_file(OpenOptions::new().write(true).create_new(true), path)?;
                file.write_all(&key.0)?;
                file.sync_all()?;
                if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                    fs::File::open(dir)?.sync_all()?;
                }
                Ok(key)
            }
            Err(error) => Err(error),
        }
    }

    /// The keyed hash of `text`.
    pub fn hash(&self, text: &str) -> TokenHash {
        // A key of KEY_LEN bytes is within BLAKE2b's 64.
        let mut mac = <Blake2bMac<U32> as KeyInit>::new_from_slice(&self.0).expect("a 32-byte key is valid");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }
}
