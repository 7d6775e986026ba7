//! The same-site check: a web page on another site, open in an operator's browser, must not
//! be able to use sift through that browser (DESIGN.md section 1, principle 5).
//!
//! - **Host** (against DNS rebinding, where an attacker's name is made to point at 127.0.0.1):
//!   a request is answered only when its `Host` is an IP address (a rebound name never is),
//!   `localhost` or a name under it, the host of `[http] public_url`, or one of
//!   `[http] allowed_hosts` (`*.example.com` allows every name under `example.com`).
//!   Otherwise: 403, reason `unknown_host`.
//! - **Origin** (against cross-site requests, which a browser sends without asking, `text/plain`
//!   bodies included): a request that may change something (any method but GET, HEAD and
//!   OPTIONS) whose `Origin` (or, without one, `Referer`) is another site than the one it was
//!   sent to (its `Host`) or `[http] public_url` is refused: 403, reason `cross_site_request`.
//!   Requests with neither header come from programs (curl, shippers, scripts), not browsers,
//!   and are accepted with any content type.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use crate::config::HttpConfig;

/// The names sift answers to and the site it is, from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Sites {
    /// `scheme://host:port` of `http.public_url`, lowercased.
    public_origin: Option<String>,
    /// Host names allowed besides IP addresses and localhost, lowercased; `*.x` for names under x.
    allowed_hosts: Vec<String>,
}

impl Sites {
    pub fn new(config: &HttpConfig) -> Sites {
        let public = config.public_url.as_ref();
        let mut allowed_hosts: Vec<String> = config.allowed_hosts.iter().map(|h| h.to_ascii_lowercase()).collect();
        if let Some(host) = public.and_then(Uri::host) {
            allowed_hosts.push(host.trim_matches(['[', ']']).to_ascii_lowercase());
        }
        Sites { public_origin: public.and_then(origin_of), allowed_hosts }
    }

    /// Whether a request naming `host` (the `Host` header's host, without its port) is for sift.
    fn is_own_host(&self, host: &str) -> bool {
        let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
        host.parse::<IpAddr>().is_ok()
            || host == "localhost"
            || host.ends_with(".localhost")
            || self.allowed_hosts.iter().any(|allowed| match allowed.strip_prefix("*.") {
                Some(parent) => host.strip_suffix(parent).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
                None => *allowed == host,
            })
    }

    /// Why a request must be refused, if it must.
    fn check(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), ApiError> {
        let authority = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| uri.authority().map(|a| a.to_string()));
        if let Some(authority) = &authority {
            let host = host_of(authority);
            if !self.is_own_host(&host) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "sift does not answer to the name {host:?}: add it to http.allowed_hosts (or set http.public_url) if it is sift's"
                    ),
                )
                .because("unknown_host")
                .with_detail(json!({ "host": host })));
            }
        }
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let sender = match headers.get(header::ORIGIN) {
            Some(origin) => origin.to_str().unwrap_or("null").to_owned(),
            None => match headers.get(header::REFERER) {
                Some(referer) => referer
                    .to_str()
                    .ok()
                    .and_then(|r| r.parse::<Uri>().ok())
                    .and_then(|u| origin_of(&u))
                    .unwrap_or_else(|| "null".to_owned()),
                // Not a browser.
                None => return Ok(()),
            },
        };
        let sender = sender.to_ascii_lowercase();
        let same_origin = |scheme: &str| {
            authority.as_deref().is_some_and(|a| sender == format!("{scheme}://{}", a.to_ascii_lowercase()))
        };
        if same_origin("http") || same_origin("https") || self.public_origin.as_deref() == Some(sender.as_str()) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("a request from another site ({sender}) may not change anything here"),
        )
        .because("cross_site_request")
        .with_detail(json!({ "origin": sender })))
    }
}

/// The layer: refuses requests for other names and cross-site requests that change things.
pub async fn same_site(State(sites): State<Arc<Sites>>, request: Request, next: Next) -> Response {
    match sites.check(request.method(), request.uri(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

/// The host of a `Host` value, without its port (`[::1]:9125` → `[::1]`).
fn host_of(authority: &str) -> String {
    let authority = authority.trim();
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority).to_owned();
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
        _ => authority.to_owned(),
    }
}

/// `scheme://host[:port]` of an absolute URL, lowercased, as browsers send it in `Origin`.
fn origin_of(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    let default_port = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    let host = authority.host();
    let origin = match authority.port_u16() {
        Some(port) if Some(port) != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    };
    Some(origin.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn sites(public_url: Option<&str>, allowed: &[&str]) -> Sites {
        let mut config = crate::config::Config::default().http;
        config.public_url = public_url.map(|u| u.parse().expect("url"));
        config.allowed_hosts = allowed.iter().map(|h| h.to_string()).collect();
        Sites::new(&config)
    }

    fn check(sites: &Sites, method: Method, headers: &[(&'static str, &str)]) -> Result<(), &'static str> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        sites.check(&method, &Uri::from_static("/api/v1/events"), &map).map_err(|e| e.reason)
    }

    #[test]
    fn hosts() {
        let sites = sites(Some("https://logs.example.com"), &["sift.internal", "*.corp.example"]);
        for ok in [
            "127.0.0.1:9125",
            "[::1]:9125",
            "10.1.2.3",
            "localhost:9125",
            "app.localhost",
            "logs.example.com",
            "SIFT.internal:80",
            "a.corp.example",
        ] {
            assert_eq!(check(&sites, Method::GET, &[("host", ok)]), Ok(()), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:9125",
            "localhost.attacker.example",
            "corp.example",
            "evilcorp.example",
        ] {
            assert_eq!(check(&sites, Method::GET, &[("host", bad)]), Err("unknown_host"), "{bad}");
        }
    }

    #[test]
    fn origins_of_changes() {
        let sites = sites(Some("https://logs.example.com"), &[]);
        let host = ("host", "127.0.0.1:9125");
        assert_eq!(check(&sites, Method::POST, &[host]), Ok(()), "a program sends no Origin");
        assert_eq!(check(&sites, Method::POST, &[host, ("origin", "http://127.0.0.1:9125")]), Ok(()));
        assert_eq!(check(&sites, Method::POST, &[host, ("origin", "https://logs.example.com")]), Ok(()));
        assert_eq!(check(&sites, Method::POST, &[host, ("origin", "http://evil.example")]), Err("cross_site_request"));
        assert_eq!(check(&sites, Method::POST, &[host, ("origin", "null")]), Err("cross_site_request"));
        assert_eq!(
            check(&sites, Method::PUT, &[host, ("referer", "http://evil.example/page")]),
            Err("cross_site_request")
        );
        assert_eq!(check(&sites, Method::POST, &[host, ("referer", "http://127.0.0.1:9125/search?q=x")]), Ok(()));
        assert_eq!(
            check(&sites, Method::GET, &[host, ("origin", "http://evil.example")]),
            Ok(()),
            "reads cannot be read back across sites"
        );
    }
}
