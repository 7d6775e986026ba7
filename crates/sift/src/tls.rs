//! TLS for the listeners that take it: HTTPS and syslog over TLS (RFC 5425). One certificate
//! chain and key, read from PEM files when the configuration is compiled (so a bad file fails
//! `sift serve` and `sift check-config` with the key that named it), served through one
//! resolver that a SIGHUP swaps: new connections get the new certificate, open ones keep
//! theirs. rustls with the ring provider only.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// A certificate chain and its key, loaded and checked, with the files they came from.
#[derive(Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    certified: Arc<CertifiedKey>,
}

impl fmt::Debug for TlsFiles {
    /// The paths only: the key's material stays out of logs and messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsFiles").field("cert", &self.cert).field("key", &self.key).finish_non_exhaustive()
    }
}

/// Why a certificate or key could not be used, and which of the two files is to blame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    Cert(String),
    Key(String),
}

impl TlsFiles {
    /// Reads a PEM certificate chain (the server's certificate first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), and checks that the key is the certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<TlsFiles, LoadError> {
        let chain = read_chain(cert).map_err(LoadError::Cert)?;
        let private = read_key(key).map_err(LoadError::Key)?;
        let certified = CertifiedKey::from_der(chain, private, &provider()).map_err(|error| match error {
            rustls::Error::InconsistentKeys(_) => LoadError::Key(format!(
                "the key in {} is not the key of the certificate in {}",
                key.display(),
                cert.display()
            )),
            error => LoadError::Key(format!("cannot use the key in {}: {error}", key.display())),
        })?;
        Ok(TlsFiles { cert: cert.to_path_buf(), key: key.to_path_buf(), certified: Arc::new(certified) })
    }
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| describe(path, "certificate", error))?;
    if chain.is_empty() {
        return Err(format!("no certificate in {}: expected PEM (-----BEGIN CERTIFICATE-----)", path.display()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| describe(path, "private key", error))
}

fn describe(path: &Path, what: &str, error: pem::Error) -> String {
    match error {
        pem::Error::Io(error) => format!("cannot read {}: {error}", path.display()),
        pem::Error::NoItemsFound => {
            format!("no {what} in {}: expected a PEM file (-----BEGIN ...-----)", path.display())
        }
        error => format!("cannot read the {what} in {}: {error:?}", path.display()),
    }
}

/// The one crypto provider: ring.
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The certificate in force, replaced on SIGHUP.
#[derive(Debug)]
struct Current(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// The server side of TLS for every listener: acceptors that share one certificate.
#[derive(Clone)]
pub struct Tls {
    current: Arc<Current>,
    http: TlsAcceptor,
    syslog: TlsAcceptor,
}

impl Tls {
    pub fn new(files: &TlsFiles) -> anyhow::Result<Tls> {
        let current = Arc::new(Current(ArcSwap::new(Arc::clone(&files.certified))));
        let config = |alpn: &[&[u8]]| -> anyhow::Result<TlsAcceptor> {
            let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Ok(TlsAcceptor::from(Arc::new(config)))
        };
        // HTTP/2 is offered first, as browsers expect; syslog has no ALPN name.
        let http = config(&[b"h2", b"http/1.1"])?;
        let syslog = config(&[])?;
        Ok(Tls { current, http, syslog })
    }

    /// Serves `files` to every connection from now on.
    pub fn replace(&self, files: &TlsFiles) {
        self.current.0.store(Arc::clone(&files.certified));
    }

    pub fn http(&self) -> &TlsAcceptor {
        &self.http
    }

    pub fn syslog(&self) -> &TlsAcceptor {
        &self.syslog
    }
}

/// The first byte of a TLS handshake record; a plain HTTP request starts with a letter.
pub const HANDSHAKE_RECORD: u8 = 0x16;

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn pair(name: &str) -> (String, String) {
        let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        (certified.cert.pem(), certified.signing_key.serialize_pem())
    }

    #[test]
    fn loads_a_certificate_and_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair("localhost");
        let files = TlsFiles::load(&write(dir.path(), "c.pem", &cert), &write(dir.path(), "k.pem", &key)).unwrap();
        assert_eq!(files.certified.cert.len(), 1);
        assert!(Tls::new(&files).is_ok());
        assert!(!format!("{files:?}").contains("BEGIN"), "{files:?}");
    }

    #[test]
    fn names_the_file_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = pair("localhost");
        let (_, other_key) = pair("elsewhere");
        let cert = write(dir.path(), "c.pem", &cert);
        let key = write(dir.path(), "k.pem", &key);
        let other_key = write(dir.path(), "other.pem", &other_key);
        let missing = dir.path().join("missing.pem");
        let render = |result: Result<TlsFiles, LoadError>| match result {
            Ok(_) => "ok".to_owned(),
            Err(error) => format!("{error:?}").replace(&dir.path().display().to_string(), "DIR"),
        };
        expect_test::expect![[r#"
            Cert("cannot read DIR/missing.pem: No such file or directory (os error 2)")
            Key("cannot read DIR/missing.pem: No such file or directory (os error 2)")
            Cert("no certificate in DIR/k.pem: expected PEM (-----BEGIN CERTIFICATE-----)")
            Key("no private key in DIR/c.pem: expected a PEM file (-----BEGIN ...-----)")
            Key("the key in DIR/other.pem is not the key of the certificate in DIR/c.pem")
        "#]]
        .assert_eq(&format!(
            "{}\n{}\n{}\n{}\n{}\n",
            render(TlsFiles::load(&missing, &key)),
            render(TlsFiles::load(&cert, &missing)),
            render(TlsFiles::load(&key, &key)),
            render(TlsFiles::load(&cert, &cert)),
            render(TlsFiles::load(&cert, &other_key)),
        ));
    }
}
