//! A stateful fake of GitHub's REST API on loopback (wiremock), behaving as GitHub does
//! where the bot depends on it:
//!
//! - every request must carry a token it issued (401 otherwise), on every page;
//! - lists are paginated (`per_page`, `page`, at most 100) with absolute `Link` URLs, under
//!   an optional path prefix such as GitHub Enterprise Server's `/api/v3`;
//! - a token's kind decides what it may do: a personal token may not write check runs and
//!   comments as its user; a workflow's `GITHUB_TOKEN` and an App's installation token may
//!   not read `/user` and comment as `github-actions[bot]` / `<slug>[bot]`; the App's JWT
//!   reaches only `/app` routes, and a suspended installation gets no token;
//! - bodies are validated against GitHub's OpenAPI description (the operations in
//!   fixtures/github/openapi-operations.json) and its size limits (check-run output in bytes,
//!   comments in characters).
//!
//! Every request it would refuse or did not expect is recorded, so a test fails on a surprise.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::sync::Notify;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The user a personal token belongs to.
pub const BOT_LOGIN: &str = "modelgate-bot";
pub const REPO: &str = "acme/models";
/// The repository's name before it was renamed: GitHub redirects its API URLs to `REPO`'s.
pub const OLD_REPO: &str = "acme/old-models";
pub const PERSONAL_TOKEN: &str = "ghp_test-token";
pub const WORKFLOW_TOKEN: &str = "ghs_workflow-token";
pub const APP_ID: u64 = 4242;
pub const APP_SLUG: &str = "modelgate-test";
/// The login of comments written with a workflow's `GITHUB_TOKEN`.
pub const ACTIONS_LOGIN: &str = "github-actions[bot]";
/// A throwaway key for the fake App, never a real App's.
pub const APP_PRIVATE_KEY: &str = include_str!("../../fixtures/github/test-app-private-key.pem");
/// GitHub's largest check-run summary or text, in bytes.
const CHECK_OUTPUT_BYTES: usize = 65_535;
const COMMENT_CHARS: usize = 65_536;

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub user: String,
    /// `User` or `Bot`.
    pub user_type: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct CheckRun {
    pub id: u64,
    pub head_sha: String,
    pub name: String,
    pub conclusion: Option<String>,
    pub title: String,
    pub summary: String,
    pub text: String,
    /// The App that wrote it (`github-actions` for a workflow's token).
    pub app: String,
    pub external_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub sha: String,
    pub context: String,
    pub state: String,
    pub description: String,
}

/// A scripted answer for the next matching request, before normal handling.
#[derive(Debug, Clone)]
pub struct Failure {
    pub method: &'static str,
    pub path_contains: &'static str,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// The body's `message`; GitHub tells a secondary rate limit from a missing permission
    /// only by it.
    pub message: &'static str,
    /// The request is carried out first, then answered with the failure (a 5xx after the
    /// write was done).
    pub after_write: bool,
}

impl Failure {
    pub fn new(method: &'static str, path_contains: &'static str, status: u16) -> Failure {
        Failure {
            method,
            path_contains,
            status,
            headers: Vec::new(),
            message: "scripted failure",
            after_write: false,
        }
    }
}

/// Who a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    Personal {
        login: String,
    },
    /// A workflow's `GITHUB_TOKEN`: the `github-actions` App's installation token.
    Workflow,
    Installation {
        id: u64,
    },
    /// The App's own JWT.
    AppJwt,
}

impl TokenKind {
    /// The login and type of what the token writes.
    fn author(&self) -> (String, &'static str) {
        match self {
            TokenKind::Personal { login } => (login.clone(), "User"),
            TokenKind::Workflow => (ACTIONS_LOGIN.to_owned(), "Bot"),
            TokenKind::Installation { .. } | TokenKind::AppJwt => {
                (format!("{APP_SLUG}[bot]"), "Bot")
            }
        }
    }

    fn app(&self) -> Option<&'static str> {
        match self {
            TokenKind::Workflow => Some("github-actions"),
            TokenKind::Installation { .. } => Some(APP_SLUG),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Installation {
    pub id: u64,
    pub suspended: bool,
    pub repositories: Vec<String>,
}

/// Whether `sha` names a commit of the git repository at `path`.
fn commit_exists(path: &str, sha: &str) -> bool {
    std::process::Command::new("git")
        .args(["-C", path, "cat-file", "-e", &format!("{sha}^{{commit}}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

pub struct State {
    pub clone_url: String,
    /// `http://127.0.0.1:PORT`, for the absolute URLs of `Link` headers.
    pub origin: String,
    /// Where the API lives on the server: "" as on github.com, `/api/v3` on Enterprise Server.
    pub prefix: String,
    pub pulls: BTreeMap<u64, Value>,
    pub reviews: BTreeMap<u64, Vec<Value>>,
    pub pr_commits: BTreeMap<u64, Vec<Value>>,
    pub teams: BTreeMap<String, Vec<String>>,
    /// The repository's activity (`GET /repos/{owner}/{repo}/activity`), newest first.
    pub activity: Vec<Value>,
    /// Repository permission by login (`admin`, `write`, `read`); anyone else reads a public
    /// repository, so has `read`.
    pub permissions: BTreeMap<String, String>,
    pub comments: Vec<Comment>,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<Status>,
    pub failures: VecDeque<Failure>,
    pub tokens: BTreeMap<String, TokenKind>,
    pub installations: Vec<Installation>,
    /// Installation tokens minted, by installation.
    pub tokens_minted: BTreeMap<u64, usize>,
    /// A fork's pull request: the token may read but every write is refused with 403.
    pub read_only: bool,
    /// A token without `checks: write`: writing check runs is refused with 403.
    pub checks_forbidden: bool,
    /// Requests to paths containing this are answered after a delay (to kill the bot mid-job).
    pub slow_path: Option<(String, Duration)>,
    pub problems: Vec<String>,
    pub requests: Vec<String>,
    next_id: u64,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The check run named `name` (the first, should there be several).
    pub fn check_run(&self, name: &str) -> Option<&CheckRun> {
        self.check_runs.iter().find(|r| r.name == name)
    }

    /// The names of all check runs, sorted: one of each name shows as each name once.
    pub fn check_run_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.check_runs.iter().map(|r| r.name.clone()).collect();
        names.sort();
        names
    }

    /// A comment on pull request 1 written by a person (`User`).
    pub fn add_person_comment(&mut self, id: u64, user: &str, body: &str) {
        self.comments.push(Comment {
            id,
            issue: 1,
            user: user.to_owned(),
            user_type: "User".to_owned(),
            body: body.to_owned(),
        });
    }
}

#[derive(Clone)]
pub struct FakeGitHub {
    pub server: Arc<MockServer>,
    pub state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
}

struct Responder {
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    operations: Arc<Value>,
}

impl FakeGitHub {
    /// GitHub at the root of its host, as github.com serves it.
    pub async fn start(clone_url: &str) -> FakeGitHub {
        FakeGitHub::start_at(clone_url, "").await
    }

    /// GitHub under `prefix` (`/api/v3` for Enterprise Server).
    pub async fn start_at(clone_url: &str, prefix: &str) -> FakeGitHub {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            clone_url: clone_url.to_owned(),
            origin: server.uri(),
            prefix: prefix.to_owned(),
            pulls: BTreeMap::new(),
            reviews: BTreeMap::new(),
            pr_commits: BTreeMap::new(),
            teams: BTreeMap::new(),
            activity: Vec::new(),
            permissions: BTreeMap::new(),
            comments: Vec::new(),
            check_runs: Vec::new(),
            statuses: Vec::new(),
            failures: VecDeque::new(),
            tokens: BTreeMap::from([
                (
                    PERSONAL_TOKEN.to_owned(),
                    TokenKind::Personal {
                        login: BOT_LOGIN.to_owned(),
                    },
                ),
                (WORKFLOW_TOKEN.to_owned(), TokenKind::Workflow),
            ]),
            installations: vec![Installation {
                id: 1,
                suspended: false,
                repositories: vec![REPO.to_owned()],
            }],
            tokens_minted: BTreeMap::new(),
            read_only: false,
            checks_forbidden: false,
            slow_path: None,
            problems: Vec::new(),
            requests: Vec::new(),
            next_id: 0,
        }));
        let changed = Arc::new(Notify::new());
        let operations: Value = serde_json::from_str(include_str!(
            "../../fixtures/github/openapi-operations.json"
        ))
        .expect("operations fixture");
        Mock::given(any())
            .respond_with(Responder {
                state: state.clone(),
                changed: changed.clone(),
                operations: Arc::new(operations),
            })
            .mount(&server)
            .await;
        FakeGitHub {
            server: Arc::new(server),
            state,
            changed,
        }
    }

    /// The API's base URL, prefix included.
    pub fn url(&self) -> String {
        let prefix = self.with(|s| s.prefix.clone());
        format!("{}{prefix}", self.server.uri())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().expect("state"))
    }

    /// Adds an open pull request in GitHub's shape.
    pub fn open_pull(&self, number: u64, author: &str, base: (&str, &str), head: (&str, &str)) {
        self.with(|state| {
            state.pulls.insert(
                number,
                json!({
                    "number": number, "state": "open", "merged": false, "merge_commit_sha": null,
                    "html_url": format!("https://github.com/{REPO}/pull/{number}"),
                    "user": {"login": author, "id": 1},
                    "head": {"ref": head.0, "sha": head.1, "repo": {"full_name": REPO}},
                    "base": {"ref": base.0, "sha": base.1, "repo": {"full_name": REPO}},
                }),
            );
        });
    }

    /// Gives `logins` write access to the repository.
    pub fn grant_write(&self, logins: &[&str]) {
        self.with(|state| {
            for login in logins {
                state
                    .permissions
                    .insert((*login).to_owned(), "write".to_owned());
            }
        });
    }

    /// Waits until `condition` holds, woken by each request the fake answers (no sleeps);
    /// panics after `timeout` with the fake's state.
    pub async fn wait_until(&self, timeout: Duration, condition: impl Fn(&State) -> bool) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if condition(&self.state.lock().expect("state")) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let state = self.state.lock().expect("state");
                panic!(
                    "timed out; requests: {:#?}\nproblems: {:#?}\ncomments: {:#?}\nchecks: {:#?}",
                    state.requests, state.problems, state.comments, state.check_runs
                );
            }
        }
    }

    pub fn assert_no_problems(&self) {
        let state = self.state.lock().expect("state");
        assert!(
            state.problems.is_empty(),
            "the bot made requests GitHub would refuse: {:#?}",
            state.problems
        );
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let response = {
            let mut state = self.state.lock().expect("state");
            let method = request.method.as_str().to_owned();
            let full_path = request.url.path().to_owned();
            state.requests.push(format!("{method} {full_path}"));
            let scripted = state
                .failures
                .iter()
                .position(|f| f.method == method && full_path.contains(f.path_contains))
                .and_then(|index| state.failures.remove(index));
            match scripted {
                Some(failure) => {
                    if failure.after_write {
                        answer(&mut state, &self.operations, request);
                    }
                    let mut template = ResponseTemplate::new(failure.status)
                        .set_body_json(json!({"message": failure.message}));
                    for (name, value) in failure.headers {
                        template = template.insert_header(name, value.as_str());
                    }
                    template
                }
                None => {
                    let mut template = answer(&mut state, &self.operations, request);
                    if let Some((slow, delay)) = &state.slow_path
                        && full_path.contains(slow.as_str())
                    {
                        template = template.set_delay(*delay);
                    }
                    template
                }
            }
        };
        self.changed.notify_waiters();
        response
    }
}

fn message(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(
        json!({"message": text, "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn unexpected(state: &mut State, method: &str, path: &str) -> ResponseTemplate {
    let text = format!("unexpected {method} {path}");
    state.problems.push(text.clone());
    message(404, &text)
}

fn unprocessable(state: &mut State, text: String) -> ResponseTemplate {
    state.problems.push(text.clone());
    ResponseTemplate::new(422)
        .set_body_json(json!({"message": "Validation Failed", "errors": [text]}))
}

/// Who the request's `Authorization` speaks for, as GitHub decides it.
fn authenticate(state: &State, request: &Request) -> Result<TokenKind, String> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| "Requires authentication".to_owned())?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("token "))
        .ok_or_else(|| format!("Authorization `{header}` is neither Bearer nor token"))?;
    if let Some(kind) = state.tokens.get(token) {
        return Ok(kind.clone());
    }
    app_jwt(token).map(|()| TokenKind::AppJwt)
}

/// A JWT GitHub accepts for the App: RS256, issued by the App, valid for at most 10 minutes.
/// (The signature is not verified: the key is the test's own.)
fn app_jwt(token: &str) -> Result<(), String> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, _signature] = parts.as_slice() else {
        return Err("Bad credentials".to_owned());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| format!("JWT part is not base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("JWT part is not JSON: {e}"))
    };
    let (header, claims) = (decode(header)?, decode(claims)?);
    if header["alg"] != "RS256" {
        return Err(format!("JWT algorithm {} is not RS256", header["alg"]));
    }
    let issuer = claims["iss"]
        .as_u64()
        .or_else(|| claims["iss"].as_str().and_then(|s| s.parse().ok()));
    if issuer != Some(APP_ID) {
        return Err(format!(
            "JWT issuer {} is not the App {APP_ID}",
            claims["iss"]
        ));
    }
    let (issued, expires) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    match (issued, expires) {
        (Some(iat), Some(exp)) if exp > iat && exp - iat <= 600 => Ok(()),
        _ => Err("'Expiration time' claim ('exp') is too far in the future".to_owned()),
    }
}

/// A page of `items` as GitHub serves one: `per_page` (default 30, at most 100) and `page`
/// from the query, and a `Link` header with absolute URLs to the next and last pages.
fn page_of(state: &State, request: &Request, items: Vec<Value>) -> (Vec<Value>, Option<String>) {
    let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let shown: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let url = |number: usize| {
        let mut query = query.clone();
        query.insert("per_page".to_owned(), per_page.to_string());
        query.insert("page".to_owned(), number.to_string());
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "<{}{}?{}>",
            state.origin,
            request.url.path(),
            query.join("&")
        )
    };
    let link = (page < last).then(|| {
        format!(
            "{}; rel=\"next\", {}; rel=\"last\"",
            url(page + 1),
            url(last)
        )
    });
    (shown, link)
}

fn list(state: &State, request: &Request, items: Vec<Value>) -> ResponseTemplate {
    let (shown, link) = page_of(state, request, items);
    with_link(
        ResponseTemplate::new(200).set_body_json(Value::Array(shown)),
        link,
    )
}

/// A paginated list inside an object, as check runs and installation repositories are.
fn wrapped_list(
    state: &State,
    request: &Request,
    key: &str,
    items: Vec<Value>,
) -> ResponseTemplate {
    let total = items.len();
    let (shown, link) = page_of(state, request, items);
    with_link(
        ResponseTemplate::new(200).set_body_json(json!({"total_count": total, key: shown})),
        link,
    )
}

fn with_link(template: ResponseTemplate, link: Option<String>) -> ResponseTemplate {
    match link {
        Some(link) => template.insert_header("link", link.as_str()),
        None => template,
    }
}

fn answer(state: &mut State, operations: &Value, request: &Request) -> ResponseTemplate {
    let method = request.method.as_str().to_owned();
    let full_path = request.url.path().to_owned();
    let Some(path) = full_path.strip_prefix(state.prefix.as_str()) else {
        return unexpected(state, &method, &full_path);
    };
    let path = path.to_owned();
    let token = match authenticate(state, request) {
        Ok(token) => token,
        Err(why) => {
            state.problems.push(format!(
                "{method} {full_path} without valid credentials: {why}"
            ));
            return message(401, &why);
        }
    };
    let body: Value = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body).unwrap_or(Value::Null)
    };
    let parts: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    // The App's JWT reaches only the App's own routes, and nothing else reaches those.
    if (parts.first() == Some(&"app")) != (token == TokenKind::AppJwt) {
        state.problems.push(format!(
            "{method} {full_path} with {token:?}: the App's routes take its JWT, the rest an installation token"
        ));
        return message(
            401,
            "A JSON web token could not be decoded or is not allowed here",
        );
    }
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["user"]) => match &token {
            TokenKind::Personal { login } => {
                let login = login.clone();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"login": login, "id": 42, "type": "User"}))
            }
            _ => message(403, "Resource not accessible by integration"),
        },
        ("GET", ["app"]) => ResponseTemplate::new(200)
            .set_body_json(json!({"id": APP_ID, "slug": APP_SLUG, "name": "modelgate test"})),
        ("GET", ["app", "installations"]) => {
            let items = state
                .installations
                .iter()
                .map(|i| {
                    json!({"id": i.id, "account": {"login": "acme"},
                        "suspended_at": if i.suspended { json!("2026-11-01T00:00:00Z") } else { Value::Null }})
                })
                .collect();
            list(state, request, items)
        }
        ("POST", ["app", "installations", id, "access_tokens"]) => {
            let id: u64 = id.parse().unwrap_or_default();
            match state.installations.iter().find(|i| i.id == id).cloned() {
                None => message(404, "Not Found"),
                Some(installation) if installation.suspended => {
                    message(403, "This installation has been suspended")
                }
                Some(_) => {
                    let minted = state.tokens_minted.entry(id).or_default();
                    *minted += 1;
                    let token = format!("ghs_installation-{id}-{minted}");
                    state
                        .tokens
                        .insert(token.clone(), TokenKind::Installation { id });
                    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
                    ResponseTemplate::new(201).set_body_json(json!({
                        "token": token, "expires_at": expires.to_string(),
                        "permissions": {"checks": "write", "pull_requests": "write", "contents": "write"}
                    }))
                }
            }
        }
        ("GET", ["installation", "repositories"]) => {
            let TokenKind::Installation { id } = token else {
                return message(403, "Resource not accessible by personal access token");
            };
            let clone_url = state.clone_url.clone();
            let items = state
                .installations
                .iter()
                .filter(|i| i.id == id)
                .flat_map(|i| i.repositories.clone())
                .map(|name| json!({"full_name": name, "clone_url": clone_url}))
                .collect();
            wrapped_list(state, request, "repositories", items)
        }
        ("GET", ["orgs", org, "teams", slug, "members"]) => {
            let members = state
                .teams
                .get(&format!("{org}/{slug}"))
                .cloned()
                .unwrap_or_default();
            let items = members
                .iter()
                .map(|m| json!({"login": m, "id": 7}))
                .collect();
            list(state, request, items)
        }
        (_, ["repos", owner, name, rest @ ..]) if format!("{owner}/{name}") == OLD_REPO => {
            // 301 for reads, 307 (same method and body) for writes, as GitHub does.
            let status = if method == "GET" { 301 } else { 307 };
            let mut location = format!("{}{}/repos/{REPO}", state.origin, state.prefix);
            for part in rest {
                location.push('/');
                location.push_str(part);
            }
            if let Some(query) = request.url.query() {
                location.push('?');
                location.push_str(query);
            }
            message(status, "Moved Permanently").insert_header("location", location.as_str())
        }
        ("GET" | "POST" | "PATCH", ["repos", owner, name, rest @ ..])
            if format!("{owner}/{name}") == REPO =>
        {
            let rest: Vec<String> = rest.iter().map(|p| (*p).to_owned()).collect();
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            repository(state, operations, request, &token, &method, &rest, &body)
        }
        _ => unexpected(state, &method, &full_path),
    }
}

fn repository(
    state: &mut State,
    operations: &Value,
    request: &Request,
    token: &TokenKind,
    method: &str,
    rest: &[&str],
    body: &Value,
) -> ResponseTemplate {
    let ok = |value: Value| ResponseTemplate::new(200).set_body_json(value);
    let not_found = || message(404, "Not Found");
    if method != "GET" {
        // What GitHub answers a token that lacks the permission, or a personal token
        // writing a check run (only Apps may).
        if state.read_only || (state.checks_forbidden && rest.first() == Some(&"check-runs")) {
            return message(403, "Resource not accessible by integration");
        }
        if rest.first() == Some(&"check-runs") && token.app().is_none() {
            return message(403, "You must authenticate via a GitHub App.");
        }
    }
    match (method, rest) {
        ("GET", []) => ok(json!({"full_name": REPO, "clone_url": state.clone_url})),
        ("GET", ["pulls"]) => {
            let items = state
                .pulls
                .values()
                .filter(|p| p["state"] == "open")
                .cloned()
                .collect();
            list(state, request, items)
        }
        ("GET", ["pulls", n]) => match n.parse::<u64>().ok().and_then(|n| state.pulls.get(&n)) {
            Some(pull) => ok(pull.clone()),
            None => not_found(),
        },
        ("GET", ["pulls", n, "reviews"]) => {
            let items = n
                .parse()
                .ok()
                .and_then(|n: u64| state.reviews.get(&n).cloned())
                .unwrap_or_default();
            list(state, request, items)
        }
        ("GET", ["pulls", n, "commits"]) => {
            // GitHub lists at most 250 commits of a pull request.
            let items = n
                .parse()
                .ok()
                .and_then(|n: u64| state.pr_commits.get(&n).cloned())
                .unwrap_or_default()
                .into_iter()
                .take(250)
                .collect();
            list(state, request, items)
        }
        ("GET", ["compare", range]) => {
            // The commits of the pull request whose base and head these are, all of them.
            let Some((base, head)) = range.split_once("...") else {
                return unexpected(state, method, range);
            };
            // GitHub compares any two commits of the repository: a head pushed over stays
            // comparable (answered here with its pull request's commits as they are now).
            if ![base, head]
                .iter()
                .all(|sha| commit_exists(&state.clone_url, sha))
            {
                return not_found();
            }
            let number = state
                .pulls
                .iter()
                .find(|(_, p)| p["base"]["sha"] == base && p["head"]["sha"] == head)
                .or_else(|| state.pulls.iter().find(|(_, p)| p["base"]["sha"] == base))
                .map(|(n, _)| *n);
            let items = number
                .and_then(|n| state.pr_commits.get(&n).cloned())
                .unwrap_or_default();
            let total = items.len();
            let (shown, link) = page_of(state, request, items);
            with_link(
                ResponseTemplate::new(200).set_body_json(json!({
                    "status": "ahead", "ahead_by": total, "behind_by": 0,
                    "total_commits": total, "commits": shown, "files": []
                })),
                link,
            )
        }
        ("GET", ["activity"]) => {
            let wanted = request
                .url
                .query_pairs()
                .find(|(key, _)| key == "ref")
                .map(|(_, value)| value.into_owned());
            let items = state
                .activity
                .iter()
                .filter(|entry| wanted.as_deref().is_none_or(|r| entry["ref"] == r))
                .cloned()
                .collect();
            list(state, request, items)
        }
        ("GET", ["collaborators", login, "permission"]) => {
            let permission = state
                .permissions
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(login))
                .map_or("read", |(_, p)| p.as_str())
                .to_owned();
            ok(json!({"permission": permission, "role_name": permission, "user": {"login": login}}))
        }
        ("GET", ["issues", n, "comments"]) => {
            let issue: u64 = n.parse().unwrap_or_default();
            let items = state
                .comments
                .iter()
                .filter(|c| c.issue == issue)
                .map(comment_json)
                .collect();
            list(state, request, items)
        }
        ("POST", ["issues", n, "comments"]) => {
            if let Err(problem) = validate(
                operations,
                "POST",
                "/repos/{owner}/{repo}/issues/{issue_number}/comments",
                body,
            ) {
                return unprocessable(state, problem);
            }
            let text = body["body"].as_str().unwrap_or_default().to_owned();
            if text.chars().count() > COMMENT_CHARS {
                return unprocessable(
                    state,
                    format!("comment body of {} characters", text.chars().count()),
                );
            }
            let id = state.id();
            let (user, kind) = token.author();
            let comment = Comment {
                id,
                issue: n.parse().unwrap_or_default(),
                user,
                user_type: kind.to_owned(),
                body: text,
            };
            let created = comment_json(&comment);
            state.comments.push(comment);
            ResponseTemplate::new(201).set_body_json(created)
        }
        ("PATCH", ["issues", "comments", id]) => {
            if let Err(problem) = validate(
                operations,
                "PATCH",
                "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                body,
            ) {
                return unprocessable(state, problem);
            }
            let text = body["body"].as_str().unwrap_or_default().to_owned();
            if text.chars().count() > COMMENT_CHARS {
                return unprocessable(
                    state,
                    format!("comment body of {} characters", text.chars().count()),
                );
            }
            let id: u64 = id.parse().unwrap_or_default();
            let (author, _) = token.author();
            match state.comments.iter_mut().find(|c| c.id == id) {
                // Only its author (or an admin) may edit a comment.
                Some(comment) if comment.user != author => {
                    let text = format!("{author} edited {}'s comment {id}", comment.user);
                    state.problems.push(text.clone());
                    message(403, &text)
                }
                Some(comment) => {
                    comment.body = text;
                    ok(json!({"id": id}))
                }
                None => not_found(),
            }
        }
        ("GET", ["commits", sha, "check-runs"]) => {
            let items = state
                .check_runs
                .iter()
                .filter(|r| r.head_sha == *sha)
                .map(|r| json!({"id": r.id, "name": r.name, "head_sha": r.head_sha, "status": "completed",
                    "conclusion": r.conclusion, "app": {"slug": r.app}, "external_id": r.external_id}))
                .collect();
            wrapped_list(state, request, "check_runs", items)
        }
        ("GET", ["commits", sha, "statuses"]) => {
            // Newest first, as GitHub lists them.
            let items = state
                .statuses
                .iter()
                .rev()
                .filter(|s| s.sha == *sha)
                .map(|s| json!({"state": s.state, "context": s.context, "description": s.description}))
                .collect();
            list(state, request, items)
        }
        ("GET", ["commits", sha, "pulls"]) => {
            let items = state
                .pulls
                .values()
                .filter(|p| p["merge_commit_sha"] == *sha || p["head"]["sha"] == *sha)
                .cloned()
                .collect();
            list(state, request, items)
        }
        ("POST", ["statuses", sha]) => {
            if let Err(problem) = validate(
                operations,
                "POST",
                "/repos/{owner}/{repo}/statuses/{sha}",
                body,
            ) {
                return unprocessable(state, problem);
            }
            let description = body["description"].as_str().unwrap_or_default();
            if description.chars().count() > 140 {
                return unprocessable(
                    state,
                    format!(
                        "status description of {} characters",
                        description.chars().count()
                    ),
                );
            }
            let context = body["context"].as_str().unwrap_or("default").to_owned();
            let same = state
                .statuses
                .iter()
                .filter(|s| s.sha == *sha && s.context == context)
                .count();
            // GitHub keeps at most 1,000 statuses per commit and context.
            if same >= 1000 {
                return unprocessable(state, format!("1000 statuses on {sha} for {context}"));
            }
            let id = state.id();
            state.statuses.push(Status {
                sha: (*sha).to_owned(),
                context,
                state: body["state"].as_str().unwrap_or_default().to_owned(),
                description: description.to_owned(),
            });
            ResponseTemplate::new(201).set_body_json(json!({"id": id, "state": body["state"]}))
        }
        ("POST", ["check-runs"]) => {
            if let Err(problem) =
                validate_check_run(operations, "POST", "/repos/{owner}/{repo}/check-runs", body)
            {
                return unprocessable(state, problem);
            }
            let id = state.id();
            let run = CheckRun {
                id,
                head_sha: body["head_sha"].as_str().unwrap_or_default().to_owned(),
                name: body["name"].as_str().unwrap_or_default().to_owned(),
                conclusion: body["conclusion"].as_str().map(str::to_owned),
                title: body["output"]["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                summary: body["output"]["summary"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                text: body["output"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                app: token.app().unwrap_or_default().to_owned(),
                external_id: body["external_id"].as_str().map(str::to_owned),
            };
            state.check_runs.push(run);
            ResponseTemplate::new(201).set_body_json(json!({"id": id}))
        }
        ("PATCH", ["check-runs", id]) => {
            if let Err(problem) = validate_check_run(
                operations,
                "PATCH",
                "/repos/{owner}/{repo}/check-runs/{check_run_id}",
                body,
            ) {
                return unprocessable(state, problem);
            }
            let id: u64 = id.parse().unwrap_or_default();
            let app = token.app().unwrap_or_default();
            match state.check_runs.iter_mut().find(|r| r.id == id) {
                // An App may update only its own check runs.
                Some(run) if run.app != app => {
                    let text = format!("{app} updated {}'s check run {id}", run.app);
                    state.problems.push(text.clone());
                    message(403, &text)
                }
                Some(run) => {
                    if let Some(id) = body["external_id"].as_str() {
                        run.external_id = Some(id.to_owned());
                    }
                    run.conclusion = body["conclusion"].as_str().map(str::to_owned);
                    run.title = body["output"]["title"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    run.summary = body["output"]["summary"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    run.text = body["output"]["text"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    ok(json!({"id": id}))
                }
                None => not_found(),
            }
        }
        _ => unexpected(state, method, &format!("/repos/{REPO}/{}", rest.join("/"))),
    }
}

fn comment_json(comment: &Comment) -> Value {
    let app = match comment.user.as_str() {
        ACTIONS_LOGIN => json!({"slug": "github-actions"}),
        user if user.ends_with("[bot]") => json!({"slug": APP_SLUG}),
        _ => Value::Null,
    };
    json!({"id": comment.id, "user": {"login": comment.user, "type": comment.user_type}, "body": comment.body,
        "created_at": "2026-03-01T10:00:00Z", "performed_via_github_app": app})
}

/// A check run's body: its schema, and GitHub's limit on the output in bytes.
fn validate_check_run(
    operations: &Value,
    method: &str,
    path: &str,
    body: &Value,
) -> Result<(), String> {
    validate(operations, method, path, body)?;
    for field in ["summary", "text"] {
        let bytes = body["output"][field].as_str().map_or(0, str::len);
        if bytes > CHECK_OUTPUT_BYTES {
            return Err(format!(
                "output.{field} exceeds a maximum bytesize of {CHECK_OUTPUT_BYTES} ({bytes} bytes)"
            ));
        }
    }
    Ok(())
}

/// Validates a body against the operation's schema: types, enums, required properties,
/// maxLength, anyOf, and no properties beyond those the schema lists.
fn validate(operations: &Value, method: &str, path: &str, body: &Value) -> Result<(), String> {
    let operation = operations["operations"]
        .as_array()
        .and_then(|ops| {
            ops.iter()
                .find(|op| op["method"] == method && op["path"] == path)
        })
        .ok_or_else(|| format!("no schema for {method} {path}"))?;
    check(&operation["schema"], body, "body").map_err(|e| format!("{method} {path}: {e}"))
}

fn check(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(options) = schema["anyOf"].as_array()
        && !options
            .iter()
            .any(|option| check(option, value, at).is_ok())
    {
        return Err(format!("{at} matches none of the allowed shapes"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at} is {value}, not one of {allowed:?}"));
    }
    let type_ok = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        Some("array") => value.is_array(),
        _ => true,
    };
    if !type_ok {
        return Err(format!("{at} should be of type {}", schema["type"]));
    }
    if let (Some(max), Some(text)) = (schema["maxLength"].as_u64(), value.as_str())
        && text.chars().count() as u64 > max
    {
        return Err(format!(
            "{at} is {} characters, more than {max}",
            text.chars().count()
        ));
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                return Err(format!("{at}.{required} is required"));
            }
        }
        if let Some(properties) = schema["properties"].as_object() {
            for (key, item) in object {
                match properties.get(key) {
                    Some(property) => check(property, item, &format!("{at}.{key}"))?,
                    None if schema["additionalProperties"] == true => {}
                    None => return Err(format!("{at}.{key} is not a known field")),
                }
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (index, item) in list.iter().enumerate() {
            check(items, item, &format!("{at}[{index}]"))?;
        }
    }
    Ok(())
}
