//! The one GitHub client: Octocrab for transport and authentication, a swappable base URL
//! (GitHub Enterprise's `/api/v3`, or a fake on loopback in tests), typed errors and one
//! explicit retry policy. Responses are read leniently into the few fields the bot uses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, StatusCode};
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::events::{CommitSha, PullRequestNumber, RepoName};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("{method} {path}: not found")]
    NotFound { method: String, path: String },
    #[error("{method} {path}: rate limited; retry after {retry_after:?}")]
    RateLimited {
        method: String,
        path: String,
        retry_after: Duration,
        /// A secondary rate limit: GitHub asks for a wait of at least a minute, then
        /// exponential backoff.
        secondary: bool,
    },
    #[error("{method} {path}: forbidden: {message}")]
    Forbidden {
        method: String,
        path: String,
        message: String,
    },
    /// A 5xx, or no answer at all (a timeout, a dropped connection: `status` 0).
    #[error("{method} {path}: {} (transient)", describe_transient(*.status))]
    Transient {
        method: String,
        path: String,
        status: u16,
    },
    /// `301`/`302`/`307`/`308`: a renamed or moved repository.
    #[error("{method} {path}: moved to {location}")]
    Moved {
        method: String,
        path: String,
        location: String,
    },
    #[error("{method} {path}: GitHub answered {status}: {message}")]
    Other {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("GitHub client: {0}")]
    Client(String),
}

/// How often and how long to retry. Tests shorten the waits.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    /// The longest wait honoured for `retry-after` or a rate-limit reset.
    pub max_wait: Duration,
    /// The first wait after a secondary rate limit, doubled on each further one (GitHub: "wait
    /// for at least one minute", then back off exponentially).
    pub secondary_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(10 * 60),
            secondary_wait: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The defaults, with `MODELGATE_RATE_LIMIT_WAIT` (seconds) as the first wait after a
    /// secondary rate limit.
    pub fn from_env() -> Result<RetryPolicy, GitHubError> {
        let mut policy = RetryPolicy::default();
        if let Ok(text) = std::env::var("MODELGATE_RATE_LIMIT_WAIT") {
            let seconds: f64 = text.trim().parse().ok().filter(|s: &f64| s.is_finite() && *s >= 0.0).ok_or_else(|| {
                GitHubError::Client(format!(
                    "MODELGATE_RATE_LIMIT_WAIT is `{text}`: expected a number of seconds, such as 60"
                ))
            })?;
            policy.secondary_wait = Duration::from_secs_f64(seconds);
        }
        Ok(policy)
    }
}

/// An installation token, kept until shortly before it expires.
#[derive(Clone)]
struct InstallationToken {
    client: Octocrab,
    token: String,
    expires_at: jiff::Timestamp,
}

/// Tokens are renewed this long before GitHub says they expire (they last an hour).
const TOKEN_RENEWAL_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

#[derive(Clone)]
pub struct GitHub {
    octo: Octocrab,
    /// The API's base (`https://api.github.com`, `https://HOST/api/v3`): next-page links are
    /// followed only within it, as paths, so that every page carries the credentials.
    api: http::Uri,
    retry: RetryPolicy,
    metrics: Arc<Metrics>,
    /// The App's installation tokens by installation id (shared by the clones of an App's
    /// client).
    installation_tokens: Arc<Mutex<HashMap<u64, InstallationToken>>>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("retry", &self.retry)
            .finish()
    }
}

/// A pull request, as the bot needs it.
#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub state: String,
    pub html_url: Option<String>,
    #[serde(default)]
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    /// Set once merged; the list of a commit's pull requests has no `merged` field.
    #[serde(default)]
    pub merged_at: Option<String>,
    pub user: Option<Login>,
    pub head: Branch,
    pub base: Branch,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Branch {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
    /// The repository the branch is in (a fork's, for a fork's pull request); `null` when
    /// that repository was deleted.
    #[serde(default)]
    pub repo: Option<FullName>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FullName {
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct IssueCommentRef {
    pub id: u64,
    pub user: Option<CommentUser>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CommentUser {
    pub login: String,
    /// `User` or `Bot`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// Whose comment is the sticky one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentAuthor {
    Login(String),
    /// The token cannot tell its own login (an App's installation token in a workflow may
    /// not read `/user`): any bot's comment with the marker is the sticky one, since no
    /// person's comment is a bot's and only modelgate writes the marker.
    AnyBot,
}

impl CommentAuthor {
    fn wrote(&self, user: &CommentUser) -> bool {
        match self {
            CommentAuthor::Login(login) => user.login.eq_ignore_ascii_case(login),
            CommentAuthor::AnyBot => user.kind == "Bot",
        }
    }
}

/// Who the bot writes as: whose comment is the sticky one, and which App's check runs are
/// its own (None: any check run of the name, for a token whose App is unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub comment_author: CommentAuthor,
    pub app: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckRunRef {
    pub id: u64,
    pub name: String,
    pub app: Option<AppRef>,
    /// What the verdict was judged on (`facts_fingerprint`), so reconcile can tell a stale one.
    #[serde(default)]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppRef {
    pub slug: String,
}

impl GitHub {
    fn builder(
        api_url: &str,
    ) -> Result<
        octocrab::OctocrabBuilder<
            octocrab::NoSvc,
            octocrab::DefaultOctocrabBuilderConfig,
            octocrab::NoAuth,
            octocrab::NotLayerReady,
        >,
        GitHubError,
    > {
        // Without timeouts one stalled connection holds a worker forever.
        Ok(Octocrab::builder()
            .base_uri(api_url)
            .map_err(|e| GitHubError::Client(format!("API URL `{api_url}`: {e}")))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .set_write_timeout(Some(Duration::from_secs(60))))
    }

    pub fn with_token(
        api_url: &str,
        token: &str,
        retry: RetryPolicy,
        metrics: Arc<Metrics>,
    ) -> Result<GitHub, GitHubError> {
        let octo = Self::builder(api_url)?
            .personal_token(token.to_owned())
            .build()
            .map_err(|e| GitHubError::Client(e.to_string()))?;
        Ok(GitHub {
            octo,
            api: api_uri(api_url)?,
            retry,
            metrics,
            installation_tokens: Arc::default(),
        })
    }

    pub fn with_app(
        api_url: &str,
        app_id: u64,
        private_key_pem: &str,
        retry: RetryPolicy,
        metrics: Arc<Metrics>,
    ) -> Result<GitHub, GitHubError> {
        let key = octocrab::EncodingKey::from_rsa_pem(private_key_pem.as_bytes()).map_err(|e| {
            GitHubError::Client(format!("the private key is not an RSA PEM key: {e}"))
        })?;
        let octo = Self::builder(api_url)?
            .app(octocrab::models::AppId(app_id), key)
            .build()
            .map_err(|e| GitHubError::Client(e.to_string()))?;
        Ok(GitHub {
            octo,
            api: api_uri(api_url)?,
            retry,
            metrics,
            installation_tokens: Arc::default(),
        })
    }

    /// A client acting as one installation of the app, and a token for cloning. The token
    /// is minted once and reused until five minutes before it expires.
    pub async fn installation(&self, id: u64) -> Result<(GitHub, String), GitHubError> {
        let now = jiff::Timestamp::now();
        let cached = self
            .installation_tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .filter(|t| t.expires_at > now + TOKEN_RENEWAL_MARGIN)
            .cloned();
        let token = match cached {
            Some(token) => token,
            None => {
                let minted = self.mint_installation_token(id).await?;
                self.installation_tokens
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, minted.clone());
                minted
            }
        };
        Ok((
            GitHub {
                octo: token.client,
                api: self.api.clone(),
                retry: self.retry,
                metrics: self.metrics.clone(),
                installation_tokens: Arc::default(),
            },
            token.token,
        ))
    }

    async fn mint_installation_token(&self, id: u64) -> Result<InstallationToken, GitHubError> {
        let path = format!("/app/installations/{id}/access_tokens");
        let (value, _) = self.request(Method::POST, &path, Some(&json!({}))).await?;
        let token = value["token"]
            .as_str()
            .ok_or_else(|| GitHubError::Client(format!("POST {path}: no token")))?
            .to_owned();
        let expires_at = value["expires_at"]
            .as_str()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .ok_or_else(|| GitHubError::Client(format!("POST {path}: no valid expires_at")))?;
        let client = Self::builder(&self.api.to_string())?
            .personal_token(token.clone())
            .build()
            .map_err(|e| GitHubError::Client(format!("installation {id} client: {e}")))?;
        tracing::debug!(installation = id, %expires_at, "installation token minted");
        Ok(InstallationToken {
            client,
            token,
            expires_at,
        })
    }

    /// One request with the retry policy: 5xx are retried with exponential backoff; 403 and
    /// 429 that carry `retry-after` or an exhausted rate limit wait as GitHub says.
    async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(Value, Option<String>), GitHubError> {
        self.request_with(method, path, body, true).await
    }

    /// A request that creates something: a 5xx is not retried here, since GitHub may have
    /// created it before failing; the caller looks for it first (`retry_creation`).
    async fn create(&self, path: &str, body: &Value) -> Result<Value, GitHubError> {
        Ok(self
            .request_with(Method::POST, path, Some(body), false)
            .await?
            .0)
    }

    /// Runs `find_or_create` again after a 5xx, with backoff: each attempt looks for what an
    /// earlier one may have created before creating it.
    async fn retry_creation<T, F, Fut>(&self, mut find_or_create: F) -> Result<T, GitHubError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, GitHubError>>,
    {
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            match find_or_create().await {
                Err(GitHubError::Transient {
                    method,
                    path,
                    status,
                }) if attempt < self.retry.attempts => {
                    tracing::warn!(%method, path, status, attempt, "GitHub failed a write; looking for it before trying again");
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    async fn request_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        retry_server_errors: bool,
    ) -> Result<(Value, Option<String>), GitHubError> {
        let mut backoff = self.retry.first_backoff;
        let mut secondary_backoff = self.retry.secondary_wait;
        let mut attempt = 0;
        let mut path = path.to_owned();
        let mut redirects = 0;
        loop {
            attempt += 1;
            let outcome = self.send(&method, &path, body).await;
            // A renamed repository answers with its new URL; follow it within the API, a
            // few times at most.
            if let Err(GitHubError::Moved { location, .. }) = &outcome
                && redirects < 3
            {
                redirects += 1;
                tracing::info!(%method, from = %path, to = %location, "GitHub moved the resource");
                path = self.api_path(location)?;
                attempt -= 1;
                continue;
            }
            let wait = match &outcome {
                Err(GitHubError::Transient { .. }) if retry_server_errors => Some(backoff),
                Err(GitHubError::RateLimited {
                    retry_after,
                    secondary: true,
                    ..
                }) => {
                    let wait = (*retry_after).max(secondary_backoff);
                    secondary_backoff = secondary_backoff.saturating_mul(2);
                    Some(wait)
                }
                Err(GitHubError::RateLimited { retry_after, .. }) => Some(*retry_after),
                _ => None,
            };
            match wait {
                Some(wait) if attempt < self.retry.attempts && wait <= self.retry.max_wait => {
                    tracing::warn!(%method, path, attempt, ?wait, "GitHub request will be retried");
                    tokio::time::sleep(wait).await;
                    backoff = backoff.saturating_mul(2);
                }
                _ => return outcome,
            }
        }
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(Value, Option<String>), GitHubError> {
        let client_error =
            |e: octocrab::Error| GitHubError::Client(format!("{method} {path}: {e}"));
        let response = match *method {
            Method::GET => self.octo._get(path).await,
            Method::POST => self.octo._post(path, body).await,
            Method::PATCH => self.octo._patch(path, body).await,
            _ => return Err(GitHubError::Client(format!("unsupported method {method}"))),
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(%method, path, %error, "no answer from GitHub");
                return Err(GitHubError::Transient {
                    method: method.to_string(),
                    path: path.to_owned(),
                    status: 0,
                });
            }
        };
        let status = response.status();
        self.metrics.api_call(status.as_u16());
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let next = header("link").and_then(|link| next_link(&link));
        let text = self
            .octo
            .body_to_string(response)
            .await
            .map_err(client_error)?;
        let (method_name, path_name) = (method.to_string(), path.to_owned());
        if status.is_redirection()
            && let Some(location) = header("location")
        {
            return Err(GitHubError::Moved {
                method: method_name,
                path: path_name,
                location,
            });
        }
        if status.is_success() {
            let value = if text.trim().is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| {
                    GitHubError::Client(format!("{method} {path}: invalid JSON: {e}"))
                })?
            };
            return Ok((value, next));
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        let retry_after = header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .or_else(|| {
                let exhausted = header("x-ratelimit-remaining").as_deref() == Some("0");
                let reset =
                    header("x-ratelimit-reset").and_then(|s| s.trim().parse::<u64>().ok())?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_secs();
                exhausted.then(|| Duration::from_secs(reset.saturating_sub(now) + 1))
            });
        // GitHub tells a secondary rate limit from a missing permission only by the message,
        // and may send a 429 with no header at all.
        let secondary = matches!(
            status,
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ) && (message
            .to_ascii_lowercase()
            .contains("secondary rate limit")
            || (status == StatusCode::TOO_MANY_REQUESTS && retry_after.is_none()));
        Err(match (status, retry_after) {
            _ if secondary => GitHubError::RateLimited {
                method: method_name,
                path: path_name,
                retry_after: retry_after.unwrap_or_default(),
                secondary: true,
            },
            (StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS, Some(retry_after)) => {
                GitHubError::RateLimited {
                    method: method_name,
                    path: path_name,
                    retry_after,
                    secondary: false,
                }
            }
            (StatusCode::NOT_FOUND, _) => GitHubError::NotFound {
                method: method_name,
                path: path_name,
            },
            (StatusCode::FORBIDDEN, None) => GitHubError::Forbidden {
                method: method_name,
                path: path_name,
                message,
            },
            (s, _) if s.is_server_error() => GitHubError::Transient {
                method: method_name,
                path: path_name,
                status: s.as_u16(),
            },
            (s, _) => GitHubError::Other {
                method: method_name,
                path: path_name,
                status: s.as_u16(),
                message,
            },
        })
    }

    async fn get(&self, path: &str) -> Result<Value, GitHubError> {
        Ok(self.request(Method::GET, path, None).await?.0)
    }

    /// Every page of a list, following `Link: rel="next"`.
    async fn get_all(&self, path: &str) -> Result<Vec<Value>, GitHubError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{separator}per_page=100"));
        let mut items = Vec::new();
        while let Some(page) = next.take() {
            let (value, link) = self.request(Method::GET, &page, None).await?;
            match value {
                Value::Array(list) => items.extend(list),
                other => items.push(other),
            }
            next = link.map(|link| self.api_path(&link)).transpose()?;
        }
        Ok(items)
    }

    /// A next-page link as a path within the API. Octocrab sends credentials only with a
    /// path (or to api.github.com), so an absolute link on GitHub Enterprise Server would
    /// go out without them; a link elsewhere is refused.
    fn api_path(&self, link: &str) -> Result<String, GitHubError> {
        let uri: http::Uri = link
            .parse()
            .map_err(|e| GitHubError::Client(format!("next-page link `{link}`: {e}")))?;
        let same_host = uri.authority().is_none()
            || (uri.scheme() == self.api.scheme() && uri.authority() == self.api.authority());
        match uri.path_and_query() {
            Some(path)
                if same_host
                    && uri
                        .path()
                        .starts_with(self.api.path().trim_end_matches('/')) =>
            {
                Ok(path.as_str().to_owned())
            }
            _ => Err(GitHubError::Client(format!(
                "next-page link `{link}` is outside the API at {}",
                self.api
            ))),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(path: &str, value: Value) -> Result<T, GitHubError> {
        serde_json::from_value(value)
            .map_err(|e| GitHubError::Client(format!("GET {path}: unexpected response: {e}")))
    }

    /// Who an App writes as: `<slug>[bot]`, and check runs of the App `<slug>`.
    pub async fn app_identity(&self) -> Result<Identity, GitHubError> {
        let value = self.get("/app").await?;
        let slug = value["slug"]
            .as_str()
            .ok_or_else(|| GitHubError::Client("GET /app: no slug".to_owned()))?;
        Ok(Identity {
            comment_author: CommentAuthor::Login(format!("{slug}[bot]")),
            app: Some(slug.to_owned()),
        })
    }

    /// The login a token comments as (`GET /user`; installation tokens may not read it).
    pub async fn own_login(&self) -> Result<String, GitHubError> {
        {
            let value = self.get("/user").await?;
            value["login"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| GitHubError::Client("GET /user: no login".to_owned()))
        }
    }

    pub async fn pull_request(
        &self,
        repo: &RepoName,
        pr: PullRequestNumber,
    ) -> Result<PullRequest, GitHubError> {
        let path = format!("/repos/{repo}/pulls/{}", pr.0);
        let value = self.get(&path).await?;
        Self::parse(&path, value)
    }

    pub async fn open_pull_requests(
        &self,
        repo: &RepoName,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let path = format!("/repos/{repo}/pulls?state=open");
        self.get_all(&path)
            .await?
            .into_iter()
            .map(|v| Self::parse(&path, v))
            .collect()
    }

    /// Raw list responses, for the pull request's facts.
    pub async fn reviews(
        &self,
        repo: &RepoName,
        pr: PullRequestNumber,
    ) -> Result<Vec<Value>, GitHubError> {
        self.get_all(&format!("/repos/{repo}/pulls/{}/reviews", pr.0))
            .await
    }

    pub async fn issue_comments(
        &self,
        repo: &RepoName,
        pr: PullRequestNumber,
    ) -> Result<Vec<Value>, GitHubError> {
        self.get_all(&format!("/repos/{repo}/issues/{}/comments", pr.0))
            .await
    }

    /// The GitHub logins of the authors and committers of the commits from `base` to `head`
    /// (`base...head`, so from their merge base). Through the compare API, page by page: the
    /// pull request's own commit list stops at 250 commits.
    pub async fn commit_authors(
        &self,
        repo: &RepoName,
        base: &str,
        head: &str,
    ) -> Result<Vec<String>, GitHubError> {
        let pages = self
            .get_all(&format!("/repos/{repo}/compare/{base}...{head}"))
            .await?;
        let mut logins: Vec<String> = pages
            .iter()
            .flat_map(|page| page["commits"].as_array().into_iter().flatten())
            .flat_map(|c| {
                [
                    c["author"]["login"].as_str(),
                    c["committer"]["login"].as_str(),
                ]
            })
            .flatten()
            .map(str::to_owned)
            .collect();
        logins.sort();
        logins.dedup();
        Ok(logins)
    }

    /// When `sha` was pushed to `branch` of `repo`, from the repository's activity
    /// (`GET /repos/{owner}/{repo}/activity`); None when the activity does not show it (an
    /// older push, a server without the API).
    pub async fn pushed_at(
        &self,
        repo: &RepoName,
        branch: &str,
        sha: &str,
    ) -> Result<Option<jiff::Timestamp>, GitHubError> {
        let path = format!("/repos/{repo}/activity?ref=refs/heads/{branch}&per_page=100");
        let activity = match self.get(&path).await {
            Ok(activity) => activity,
            Err(GitHubError::NotFound { .. } | GitHubError::Forbidden { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        Ok(activity
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["after"] == sha)
            .filter_map(|entry| entry["timestamp"].as_str()?.parse::<jiff::Timestamp>().ok())
            .min())
    }

    /// `login`'s permission on the repository as GitHub's required reviews count it:
    /// `admin`, `write` (maintainers too), `read` or `none`.
    pub async fn collaborator_permission(
        &self,
        repo: &RepoName,
        login: &str,
    ) -> Result<String, GitHubError> {
        let path = format!("/repos/{repo}/collaborators/{login}/permission");
        match self.get(&path).await {
            Ok(value) => Ok(value["permission"].as_str().unwrap_or("none").to_owned()),
            // A deleted account, or a user GitHub does not know.
            Err(GitHubError::NotFound { .. }) => Ok("none".to_owned()),
            Err(other) => Err(other),
        }
    }

    /// The contexts of the commit statuses on `sha`.
    pub async fn status_contexts(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> Result<Vec<String>, GitHubError> {
        let statuses = self
            .get_all(&format!("/repos/{repo}/commits/{sha}/statuses"))
            .await?;
        Ok(statuses
            .iter()
            .filter_map(|s| s["context"].as_str().map(str::to_owned))
            .collect())
    }

    /// Members of `org/team`, through the API (never by name matching).
    pub async fn team_members(&self, team: &str) -> Result<Vec<String>, GitHubError> {
        let (org, slug) = team
            .trim_start_matches('@')
            .split_once('/')
            .unwrap_or((team, ""));
        let members = match self
            .get_all(&format!("/orgs/{org}/teams/{slug}/members"))
            .await
        {
            Ok(members) => members,
            // A team the token cannot see has no members it can count (a workflow's
            // GITHUB_TOKEN cannot read an organisation's teams).
            Err(GitHubError::NotFound { .. }) => Vec::new(),
            Err(GitHubError::Forbidden { message, .. }) => {
                tracing::warn!(team, %message, "team members are not readable with this token");
                Vec::new()
            }
            Err(other) => return Err(other),
        };
        Ok(members
            .iter()
            .filter_map(|m| m["login"].as_str().map(str::to_owned))
            .collect())
    }

    /// Creates the sticky comment, or edits it when its body changed. Returns whether
    /// anything was written.
    pub async fn upsert_comment(
        &self,
        repo: &RepoName,
        pr: PullRequestNumber,
        author: &CommentAuthor,
        marker: &str,
        body: &str,
    ) -> Result<bool, GitHubError> {
        self.retry_creation(|| self.find_or_create_comment(repo, pr, author, marker, body))
            .await
    }

    async fn find_or_create_comment(
        &self,
        repo: &RepoName,
        pr: PullRequestNumber,
        author: &CommentAuthor,
        marker: &str,
        body: &str,
    ) -> Result<bool, GitHubError> {
        let path = format!("/repos/{repo}/issues/{}/comments", pr.0);
        let comments: Vec<IssueCommentRef> = self
            .get_all(&path)
            .await?
            .into_iter()
            .map(|v| Self::parse(&path, v))
            .collect::<Result<_, _>>()?;
        let mine = comments.iter().find(|c| {
            c.user.as_ref().is_some_and(|u| author.wrote(u))
                && c.body.as_deref().is_some_and(|b| b.contains(marker))
        });
        match mine {
            Some(existing) if existing.body.as_deref() == Some(body) => Ok(false),
            Some(existing) => {
                let edit = format!("/repos/{repo}/issues/comments/{}", existing.id);
                self.request(Method::PATCH, &edit, Some(&json!({ "body": body })))
                    .await?;
                Ok(true)
            }
            None => {
                self.create(&path, &json!({ "body": body })).await?;
                Ok(true)
            }
        }
    }

    /// modelgate's check runs on a commit: by name, and by `app` (the App's slug) when known,
    /// since any App may name a check run `modelgate / …` and only its own can be updated.
    pub async fn check_runs(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        app: Option<&str>,
    ) -> Result<Vec<CheckRunRef>, GitHubError> {
        let path = format!("/repos/{repo}/commits/{sha}/check-runs");
        let pages = self.get_all(&path).await?;
        let mut runs = Vec::new();
        for page in pages {
            let list = page
                .get("check_runs")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            runs.extend(Self::parse::<Vec<CheckRunRef>>(&path, list)?);
        }
        Ok(runs
            .into_iter()
            .filter(|r| r.name.starts_with("modelgate / "))
            .filter(|r| app.is_none_or(|app| r.app.as_ref().is_some_and(|a| a.slug == app)))
            .collect())
    }

    /// Creates each named check run on `sha`, or updates the one this App wrote (`app`).
    pub async fn upsert_check_runs(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        app: Option<&str>,
        runs: &[CheckRun],
    ) -> Result<(), GitHubError> {
        for run in runs {
            self.retry_creation(|| async {
                let existing = self.check_runs(repo, sha, app).await?;
                self.upsert_check_run(repo, sha, &existing, run).await
            })
            .await?;
        }
        Ok(())
    }

    async fn upsert_check_run(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        existing: &[CheckRunRef],
        run: &CheckRun,
    ) -> Result<(), GitHubError> {
        let mut body = json!({
            "name": run.name,
            "status": "completed",
            "conclusion": run.conclusion,
            "output": { "title": run.title, "summary": run.summary, "text": run.text },
        });
        if let Some(url) = &run.details_url {
            body["details_url"] = json!(url);
        }
        if let Some(id) = &run.external_id {
            body["external_id"] = json!(id);
        }
        match existing.iter().find(|r| r.name == run.name) {
            Some(found) => {
                self.request(
                    Method::PATCH,
                    &format!("/repos/{repo}/check-runs/{}", found.id),
                    Some(&body),
                )
                .await?;
            }
            None => {
                body["head_sha"] = json!(sha.0);
                self.create(&format!("/repos/{repo}/check-runs"), &body)
                    .await?;
            }
        }
        Ok(())
    }

    /// A commit status carrying a check run's verdict, for tokens that may not write check
    /// runs. Statuses have no title or text: the description is one short line.
    pub async fn create_status(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
        run: &CheckRun,
    ) -> Result<(), GitHubError> {
        let (state, prefix) = match run.conclusion {
            "success" => ("success", ""),
            "action_required" => ("failure", "Action required: "),
            _ => ("failure", ""),
        };
        let mut body = json!({
            "state": state,
            "context": run.name,
            "description": status_description(&format!("{prefix}{}", run.title)),
        });
        if let Some(url) = &run.details_url {
            body["target_url"] = json!(url);
        }
        self.request(
            Method::POST,
            &format!("/repos/{repo}/statuses/{sha}"),
            Some(&body),
        )
        .await?;
        Ok(())
    }

    /// The pull requests a commit belongs to; after a merge, the merged one is among them.
    pub async fn pull_requests_for_commit(
        &self,
        repo: &RepoName,
        sha: &CommitSha,
    ) -> Result<Vec<PullRequest>, GitHubError> {
        let path = format!("/repos/{repo}/commits/{sha}/pulls");
        self.get_all(&path)
            .await?
            .into_iter()
            .map(|v| Self::parse(&path, v))
            .collect()
    }

    /// The ids of the app's installations that are not suspended.
    pub async fn installations(&self) -> Result<Vec<u64>, GitHubError> {
        Ok(self
            .get_all("/app/installations")
            .await?
            .iter()
            .filter(|i| i["suspended_at"].is_null())
            .filter_map(|i| i["id"].as_u64())
            .collect())
    }

    /// The repositories one installation can see, with their clone URLs.
    pub async fn installation_repositories(
        &self,
        id: u64,
    ) -> Result<Vec<(RepoName, String)>, GitHubError> {
        let (client, _) = self.installation(id).await?;
        let mut found = Vec::new();
        for page in client.get_all("/installation/repositories").await? {
            for repo in page["repositories"].as_array().into_iter().flatten() {
                if let Some(name) = repo["full_name"].as_str().and_then(RepoName::parse) {
                    let clone_url = repo["clone_url"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| format!("https://github.com/{name}.git"));
                    found.push((name, clone_url));
                }
            }
        }
        Ok(found)
    }

    pub async fn repository_clone_url(&self, repo: &RepoName) -> Result<String, GitHubError> {
        let value = self.get(&format!("/repos/{repo}")).await?;
        Ok(value["clone_url"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("https://github.com/{repo}.git")))
    }
}

fn describe_transient(status: u16) -> String {
    match status {
        0 => "no answer from GitHub".to_owned(),
        status => format!("GitHub answered {status}"),
    }
}

/// The API's base URL, parsed once.
fn api_uri(api_url: &str) -> Result<http::Uri, GitHubError> {
    api_url
        .parse()
        .map_err(|e| GitHubError::Client(format!("API URL `{api_url}`: {e}")))
}

/// A check run to write.
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub name: &'static str,
    pub conclusion: &'static str,
    pub title: String,
    pub summary: String,
    pub text: String,
    pub details_url: Option<String>,
    pub external_id: Option<String>,
}

/// GitHub refuses status descriptions over 140 characters.
const STATUS_DESCRIPTION_LIMIT: usize = 140;

fn status_description(text: &str) -> String {
    if text.chars().count() <= STATUS_DESCRIPTION_LIMIT {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(STATUS_DESCRIPTION_LIMIT - 1).collect();
    short.push('…');
    short
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let header = r#"<https://api.github.com/repos/a/b/pulls?page=2>; rel="next", <https://api.github.com/repos/a/b/pulls?page=5>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repos/a/b/pulls?page=2")
        );
        assert_eq!(next_link(r#"<x>; rel="prev""#), None);
    }

    #[test]
    fn status_descriptions_fit_githubs_limit() {
        assert_eq!(status_description("short"), "short");
        let long = status_description(&"é".repeat(500));
        assert_eq!(long.chars().count(), 140);
        assert!(long.ends_with('…'));
    }
}
