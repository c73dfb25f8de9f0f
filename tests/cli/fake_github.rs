//! A stateful fake of GitHub's REST API on loopback (wiremock). It keeps comments and check
//! runs, validates the bot's request bodies against GitHub's OpenAPI description (the
//! operations in fixtures/github/openapi-operations.json), rejects what GitHub rejects
//! (bodies over the size limits, unknown fields, a wrong method or path) and records every
//! request it did not expect, so a test fails on a surprise.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const BOT_LOGIN: &str = "modelgate-bot";
pub const REPO: &str = "acme/models";

#[derive(Debug, Clone)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub user: String,
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
}

#[derive(Default)]
pub struct State {
    pub clone_url: String,
    pub pulls: BTreeMap<u64, Value>,
    pub reviews: BTreeMap<u64, Vec<Value>>,
    pub pr_commits: BTreeMap<u64, Vec<Value>>,
    pub teams: BTreeMap<String, Vec<String>>,
    pub comments: Vec<Comment>,
    pub check_runs: Vec<CheckRun>,
    pub statuses: Vec<Status>,
    pub failures: VecDeque<Failure>,
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
    pub async fn start(clone_url: &str) -> FakeGitHub {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            clone_url: clone_url.to_owned(),
            ..State::default()
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

    pub fn url(&self) -> String {
        self.server.uri()
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
            let path = request.url.path().to_owned();
            state.requests.push(format!("{method} {path}"));
            let scripted = state
                .failures
                .iter()
                .position(|f| f.method == method && path.contains(f.path_contains))
                .and_then(|index| state.failures.remove(index));
            match scripted {
                Some(failure) => {
                    let mut template = ResponseTemplate::new(failure.status)
                        .set_body_json(json!({"message": "scripted failure"}));
                    for (name, value) in failure.headers {
                        template = template.insert_header(name, value.as_str());
                    }
                    template
                }
                None => {
                    let body: Value = if request.body.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_slice(&request.body).unwrap_or(Value::Null)
                    };
                    let mut template = route(&mut state, &self.operations, &method, &path, &body);
                    if let Some((slow, delay)) = &state.slow_path
                        && path.contains(slow.as_str())
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

fn unexpected(state: &mut State, method: &str, path: &str) -> ResponseTemplate {
    let message = format!("unexpected {method} {path}");
    state.problems.push(message.clone());
    ResponseTemplate::new(500).set_body_json(json!({"message": message}))
}

fn unprocessable(state: &mut State, message: String) -> ResponseTemplate {
    state.problems.push(message.clone());
    ResponseTemplate::new(422)
        .set_body_json(json!({"message": "Validation Failed", "errors": [message]}))
}

fn route(
    state: &mut State,
    operations: &Value,
    method: &str,
    path: &str,
    body: &Value,
) -> ResponseTemplate {
    let repo_prefix = format!("/repos/{REPO}");
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ok = |value: Value| ResponseTemplate::new(200).set_body_json(value);
    if method == "GET" && path == "/user" {
        return ok(json!({"login": BOT_LOGIN, "id": 42, "type": "Bot"}));
    }
    if let ["orgs", org, "teams", slug, "members"] = parts.as_slice() {
        let members = state
            .teams
            .get(&format!("{org}/{slug}"))
            .cloned()
            .unwrap_or_default();
        return ok(Value::Array(
            members
                .iter()
                .map(|m| json!({"login": m, "id": 7}))
                .collect(),
        ));
    }
    let Some(rest) = path.strip_prefix(&repo_prefix) else {
        return unexpected(state, method, path);
    };
    // What GitHub answers a token that lacks the permission.
    let forbidden = || {
        ResponseTemplate::new(403).set_body_json(json!({
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest"
        }))
    };
    if method != "GET"
        && (state.read_only || (state.checks_forbidden && rest.starts_with("/check-runs")))
    {
        return forbidden();
    }
    let rest: Vec<&str> = rest
        .trim_start_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    match (method, rest.as_slice()) {
        ("GET", []) => ok(json!({"full_name": REPO, "clone_url": state.clone_url})),
        ("GET", ["pulls"]) => ok(Value::Array(
            state
                .pulls
                .values()
                .filter(|p| p["state"] == "open")
                .cloned()
                .collect(),
        )),
        ("GET", ["pulls", n]) => match n.parse::<u64>().ok().and_then(|n| state.pulls.get(&n)) {
            Some(pull) => ok(pull.clone()),
            None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
        },
        ("GET", ["pulls", n, "reviews"]) => ok(Value::Array(
            n.parse()
                .ok()
                .and_then(|n: u64| state.reviews.get(&n).cloned())
                .unwrap_or_default(),
        )),
        ("GET", ["pulls", n, "commits"]) => ok(Value::Array(
            n.parse()
                .ok()
                .and_then(|n: u64| state.pr_commits.get(&n).cloned())
                .unwrap_or_default(),
        )),
        ("GET", ["issues", n, "comments"]) => {
            let issue: u64 = n.parse().unwrap_or_default();
            ok(Value::Array(
                state
                    .comments
                    .iter()
                    .filter(|c| c.issue == issue)
                    .map(|c| json!({"id": c.id, "user": {"login": c.user}, "body": c.body, "created_at": "2026-03-01T10:00:00Z"}))
                    .collect(),
            ))
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
            if text.chars().count() > 65_536 {
                return unprocessable(
                    state,
                    format!("comment body of {} characters", text.chars().count()),
                );
            }
            let id = state.id();
            state.comments.push(Comment {
                id,
                issue: n.parse().unwrap_or_default(),
                user: BOT_LOGIN.to_owned(),
                body: text.clone(),
            });
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": id, "body": text, "user": {"login": BOT_LOGIN}}))
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
            if text.chars().count() > 65_536 {
                return unprocessable(
                    state,
                    format!("comment body of {} characters", text.chars().count()),
                );
            }
            let id: u64 = id.parse().unwrap_or_default();
            match state.comments.iter_mut().find(|c| c.id == id) {
                Some(comment) => {
                    comment.body = text;
                    ok(json!({"id": id}))
                }
                None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            }
        }
        ("GET", ["commits", sha, "check-runs"]) => {
            let runs: Vec<Value> = state
                .check_runs
                .iter()
                .filter(|r| r.head_sha == *sha)
                .map(|r| json!({"id": r.id, "name": r.name, "head_sha": r.head_sha, "status": "completed", "conclusion": r.conclusion}))
                .collect();
            ok(json!({"total_count": runs.len(), "check_runs": runs}))
        }
        ("GET", ["commits", sha, "pulls"]) => ok(Value::Array(
            state
                .pulls
                .values()
                .filter(|p| p["merge_commit_sha"] == *sha)
                .cloned()
                .collect(),
        )),
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
            let id = state.id();
            state.statuses.push(Status {
                sha: (*sha).to_owned(),
                context: body["context"].as_str().unwrap_or("default").to_owned(),
                state: body["state"].as_str().unwrap_or_default().to_owned(),
                description: description.to_owned(),
            });
            ResponseTemplate::new(201).set_body_json(json!({"id": id, "state": body["state"]}))
        }
        ("POST", ["check-runs"]) => {
            if let Err(problem) =
                validate(operations, "POST", "/repos/{owner}/{repo}/check-runs", body)
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
            };
            state.check_runs.push(run);
            ResponseTemplate::new(201).set_body_json(json!({"id": id}))
        }
        ("PATCH", ["check-runs", id]) => {
            if let Err(problem) = validate(
                operations,
                "PATCH",
                "/repos/{owner}/{repo}/check-runs/{check_run_id}",
                body,
            ) {
                return unprocessable(state, problem);
            }
            let id: u64 = id.parse().unwrap_or_default();
            match state.check_runs.iter_mut().find(|r| r.id == id) {
                Some(run) => {
                    run.conclusion = body["conclusion"].as_str().map(str::to_owned);
                    run.title = body["output"]["title"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    run.summary = body["output"]["summary"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    ok(json!({"id": id}))
                }
                None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            }
        }
        _ => unexpected(state, method, path),
    }
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
