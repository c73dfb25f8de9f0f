//! A Git LFS client for objects missing from the local store: the batch API
//! (`POST <endpoint>/objects/batch`, operation `download`, transfer `basic`), then the
//! object streamed from the `href` the server gives. Authenticated as git is, with the
//! token the bot or the Action already holds (user `x-access-token`).

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use modelgate_core::content::lfs::{LfsDownload, LfsPointer};
use serde::Deserialize;

use crate::secret::Secret;

const LFS_JSON: &str = "application/vnd.git-lfs+json";
/// Objects above this size are not downloaded unless the operator raises the limit.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 2 * 1024 * 1024 * 1024;
const BATCH_RESPONSE_LIMIT: usize = 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(300);

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The LFS server of one repository.
pub struct LfsServer {
    /// `<remote>.git/info/lfs`, without a trailing slash.
    endpoint: String,
    token: Option<Secret>,
    max_object_bytes: u64,
    client: HttpsClient,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for LfsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LfsServer")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LfsSetupError {
    #[error("LFS endpoint `{0}`: expected an http:// or https:// URL")]
    NotHttp(String),
    #[error("TLS roots for the LFS client: {0}")]
    Tls(String),
}

/// The object size limit: `MODELGATE_LFS_MAX_BYTES`, else [`DEFAULT_MAX_OBJECT_BYTES`].
pub fn max_object_bytes_from_env() -> u64 {
    match std::env::var("MODELGATE_LFS_MAX_BYTES") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| {
            tracing::warn!(value = %text, "MODELGATE_LFS_MAX_BYTES is not a number of bytes; using the default");
            DEFAULT_MAX_OBJECT_BYTES
        }),
        Err(_) => DEFAULT_MAX_OBJECT_BYTES,
    }
}

/// Git LFS's default endpoint for a remote URL: `<url>.git/info/lfs` (no second `.git`).
pub fn endpoint_of_remote(remote_url: &str) -> Option<String> {
    if !(remote_url.starts_with("https://") || remote_url.starts_with("http://")) {
        return None;
    }
    let url = remote_url.trim_end_matches('/');
    Some(if url.ends_with(".git") {
        format!("{url}/info/lfs")
    } else {
        format!("{url}.git/info/lfs")
    })
}

impl LfsServer {
    /// A client for `endpoint` that runs its requests on the current Tokio runtime; calls to
    /// [`LfsDownload::download`] must come from a blocking thread (`spawn_blocking`), as the
    /// evaluation does.
    pub fn new(
        endpoint: &str,
        token: Option<Secret>,
        max_object_bytes: u64,
    ) -> Result<LfsServer, LfsSetupError> {
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(LfsSetupError::NotHttp(endpoint.to_owned()));
        }
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .map_err(|e| LfsSetupError::Tls(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(LfsServer {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token,
            max_object_bytes,
            client: Client::builder(TokioExecutor::new()).build(connector),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    fn basic_auth(&self) -> Option<HeaderValue> {
        let token = self.token.as_ref()?;
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("x-access-token:{}", token.expose()));
        HeaderValue::from_str(&format!("Basic {encoded}")).ok()
    }

    async fn batch(&self, pointer: &LfsPointer) -> Result<Action, String> {
        let body = serde_json::json!({
            "operation": "download",
            "transfers": ["basic"],
            "objects": [{"oid": pointer.oid, "size": pointer.size}],
            "hash_algo": "sha256",
        });
        let url = format!("{}/objects/batch", self.endpoint);
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(&url)
            .header(header::ACCEPT, LFS_JSON)
            .header(header::CONTENT_TYPE, LFS_JSON)
            .header(
                header::USER_AGENT,
                concat!("modelgate/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(auth) = self.basic_auth() {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| format!("building the batch request to {url}: {e}"))?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("the batch request to {url} timed out"))?
            .map_err(|e| format!("the batch request to {url} failed: {e}"))?;
        let status = response.status();
        let bytes = read_capped(response.into_body(), BATCH_RESPONSE_LIMIT as u64)
            .await
            .map_err(|e| format!("reading the batch response of {url}: {e}"))?;
        if status != StatusCode::OK {
            let message = serde_json::from_slice::<ServerMessage>(&bytes)
                .map(|m| m.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect());
            let hint = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    "; the token may not read this repository's contents"
                }
                _ => "",
            };
            return Err(format!("{url} answered {status}: {message}{hint}"));
        }
        let batch: BatchResponse = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{url} answered a batch response modelgate cannot read: {e}"))?;
        if batch.transfer.as_deref().is_some_and(|t| t != "basic") {
            return Err(format!(
                "{url} chose transfer `{}`; modelgate speaks `basic` only",
                batch.transfer.unwrap_or_default()
            ));
        }
        let object = batch
            .objects
            .into_iter()
            .find(|o| o.oid == pointer.oid)
            .ok_or_else(|| format!("{url} did not answer for object {}", pointer.oid))?;
        if let Some(error) = object.error {
            return Err(format!(
                "the LFS server has no object {} ({} {})",
                pointer.oid, error.code, error.message
            ));
        }
        object
            .actions
            .and_then(|a| a.download)
            .ok_or_else(|| format!("{url} gave no download action for {}", pointer.oid))
    }

    async fn fetch(&self, pointer: &LfsPointer, out: &mut dyn Write) -> Result<(), String> {
        if pointer.size > self.max_object_bytes {
            return Err(format!(
                "the object is {} bytes, above the limit of {} (MODELGATE_LFS_MAX_BYTES)",
                pointer.size, self.max_object_bytes
            ));
        }
        let action = self.batch(pointer).await?;
        let mut headers = HeaderMap::new();
        for (name, value) in &action.header {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return Err(format!(
                    "the download action has an invalid header `{name}`"
                ));
            };
            headers.insert(name, value);
        }
        let mut request = Request::builder().method(Method::GET).uri(&action.href);
        if let Some(all) = request.headers_mut() {
            all.extend(headers);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("the download URL is not usable: {e}"))?;
        let response = tokio::time::timeout(TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| "the download timed out".to_owned())?
            .map_err(|e| format!("the download failed: {e}"))?;
        if response.status() != StatusCode::OK {
            return Err(format!("the download answered {}", response.status()));
        }
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("the download broke off: {e}"))?;
            if let Some(data) = frame.data_ref() {
                out.write_all(data).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }
}

impl LfsDownload for LfsServer {
    fn download(&self, pointer: &LfsPointer, out: &mut dyn Write) -> Result<(), String> {
        self.runtime.block_on(self.fetch(pointer, out))
    }
}

async fn read_capped(mut body: hyper::body::Incoming, limit: u64) -> Result<Vec<u8>, String> {
    let mut content = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Some(data) = frame.data_ref() {
            if content.len() as u64 + data.len() as u64 > limit {
                return Err(format!("more than {limit} bytes"));
            }
            content.extend_from_slice(data);
        }
    }
    Ok(content)
}

#[derive(Debug, Deserialize)]
struct ServerMessage {
    message: String,
}

#[derive(Debug, Deserialize)]
struct BatchResponse {
    #[serde(default)]
    transfer: Option<String>,
    objects: Vec<BatchObject>,
}

#[derive(Debug, Deserialize)]
struct BatchObject {
    oid: String,
    #[serde(default)]
    actions: Option<Actions>,
    #[serde(default)]
    error: Option<ObjectError>,
}

#[derive(Debug, Deserialize)]
struct Actions {
    download: Option<Action>,
}

#[derive(Debug, Deserialize)]
struct Action {
    href: String,
    #[serde(default)]
    header: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ObjectError {
    code: u16,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_git_lfs_defaults() {
        assert_eq!(
            endpoint_of_remote("https://github.com/acme/credit.git").as_deref(),
            Some("https://github.com/acme/credit.git/info/lfs")
        );
        assert_eq!(
            endpoint_of_remote("https://github.com/acme/credit").as_deref(),
            Some("https://github.com/acme/credit.git/info/lfs")
        );
        assert_eq!(endpoint_of_remote("/srv/git/credit.git"), None);
    }
}
