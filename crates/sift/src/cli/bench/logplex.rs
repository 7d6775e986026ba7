//! `--protocol logplex`: Heroku Logplex HTTP input, `POST /logs` with a body of `--batch`
//! octet-counted RFC 5424 frames, authenticated with a channel token.
//!
//! Before the run the bench creates its own channel (`POST /channels`, named `bench-RUN`,
//! with one token `bench`) and, as Logplex does, puts the token in every frame's APP-NAME,
//! which the server turns into the token's name. The frames are the syslog generator's.

use anyhow::Context as _;
use rand::Rng;
use reqwest::header;
use serde::Deserialize;

use super::super::client::Client;
use super::syslog::{self, Framing};
use super::template::Template;

/// The token's name, which replaces the token in every stored event's `app`.
const TOKEN_NAME: &str = "bench";

/// Creates the run's channel and returns its token.
pub(super) async fn create_channel(client: &Client, run: &str) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Created {
        tokens: std::collections::HashMap<String, String>,
    }
    let body = serde_json::json!({ "name": format!("bench-{run}"), "tokens": [TOKEN_NAME] });
    let request = client.post("/channels").json(&body);
    let answer = client.send(request).await?;
    let created: Created = answer.json().await.context("reading the answer to POST /channels")?;
    created.tokens.get(TOKEN_NAME).cloned().context("POST /channels answered without the token asked for")
}

/// A body of `events` frames of `size` bytes each.
pub(super) fn generate(rng: &mut impl Rng, events: usize, size: usize, run: &str, token: &str) -> Template {
    syslog::generate(rng, events, size, run, Framing::OctetCounted, Some(token))
}

/// The request for one body of `events` frames.
pub(super) fn request(client: &Client, token: &str, body: Vec<u8>, events: usize) -> reqwest::RequestBuilder {
    client
        .post("/logs")
        .basic_auth("token", Some(token))
        .header(header::CONTENT_TYPE, "application/logplex-1")
        .header("Logplex-Msg-Count", events)
        .body(body)
}
