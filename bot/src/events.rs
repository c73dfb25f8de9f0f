//! Webhook deliveries translated into the bot's own small types. Payloads are parsed
//! leniently (GitHub adds fields; its examples omit newer ones): only what the bot uses.

use std::fmt;

use serde::Deserialize;

/// `owner/name`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    pub fn parse(full_name: &str) -> Option<RepoName> {
        let (owner, name) = full_name.split_once('/')?;
        (!owner.is_empty() && !name.is_empty() && !name.contains('/')).then(|| RepoName {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PullRequestNumber(pub u64);

impl fmt::Display for PullRequestNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitSha(pub String);

impl fmt::Display for CommitSha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A repository as a delivery names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RepoRef {
    pub name: RepoName,
    pub clone_url: String,
    pub installation: Option<u64>,
}

/// What the bot does about a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Ping,
    /// Evaluate a pull request (again); `head` is the commit the delivery is about, when known.
    Evaluate {
        repo: RepoRef,
        pr: PullRequestNumber,
        head: Option<CommitSha>,
        why: String,
    },
    /// The open pull requests whose head is `head` (a rerequested check on a fork's pull
    /// request, whose payload names none).
    EvaluateHead {
        repo: RepoRef,
        head: CommitSha,
        why: String,
    },
    /// Several pull requests at once (a rerequested check suite).
    EvaluateMany {
        repo: RepoRef,
        prs: Vec<PullRequestNumber>,
        why: String,
    },
    /// A pull request was merged: record the decision in the audit ledger.
    Merged {
        repo: RepoRef,
        pr: PullRequestNumber,
        merge_commit: CommitSha,
    },
    /// An app installation changed; reconcile its repositories.
    Installation {
        action: String,
        installation: u64,
    },
    Ignored(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{event} payload: {message}")]
pub struct PayloadError {
    pub event: String,
    pub message: String,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
    clone_url: Option<String>,
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    head: Head,
    #[serde(default)]
    merged: Option<bool>,
    merge_commit_sha: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: PullRequest,
    repository: Repository,
    installation: Option<Installation>,
    #[serde(default)]
    changes: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ReviewEvent {
    action: String,
    pull_request: PullRequest,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Comment {
    body: Option<String>,
}

#[derive(Deserialize)]
struct IssueCommentEvent {
    action: String,
    issue: Issue,
    comment: Comment,
    /// For `edited`: the body before, `{"body": {"from": "..."}}`.
    #[serde(default)]
    changes: Option<serde_json::Value>,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct PullRef {
    number: u64,
}

#[derive(Deserialize)]
struct CheckRunBody {
    head_sha: String,
    #[serde(default)]
    pull_requests: Vec<PullRef>,
}

#[derive(Deserialize)]
struct CheckRunEvent {
    action: String,
    check_run: CheckRunBody,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct CheckSuiteEvent {
    action: String,
    check_suite: CheckRunBody,
    repository: Repository,
    installation: Option<Installation>,
}

#[derive(Deserialize)]
struct InstallationEvent {
    action: String,
    installation: Installation,
}

fn repo_ref(
    event: &str,
    repository: Repository,
    installation: Option<Installation>,
) -> Result<RepoRef, PayloadError> {
    let name = RepoName::parse(&repository.full_name).ok_or_else(|| PayloadError {
        event: event.to_owned(),
        message: format!(
            "repository.full_name `{}` is not owner/name",
            repository.full_name
        ),
    })?;
    let clone_url = repository
        .clone_url
        .unwrap_or_else(|| format!("https://github.com/{name}.git"));
    Ok(RepoRef {
        name,
        clone_url,
        installation: installation.map(|i| i.id),
    })
}

/// Translates a delivery. `event` is the `X-GitHub-Event` header.
pub fn parse(event: &str, body: &[u8]) -> Result<Event, PayloadError> {
    let bad = |error: serde_json::Error| PayloadError {
        event: event.to_owned(),
        message: error.to_string(),
    };
    let event_name = event.to_owned();
    Ok(match event {
        "ping" => Event::Ping,
        "pull_request" => {
            let payload: PullRequestEvent = serde_json::from_slice(body).map_err(bad)?;
            let pr = PullRequestNumber(payload.pull_request.number);
            let repo = repo_ref(&event_name, payload.repository, payload.installation)?;
            let head = Some(CommitSha(payload.pull_request.head.sha));
            match payload.action.as_str() {
                "opened" | "synchronize" | "reopened" | "ready_for_review" | "labeled"
                | "unlabeled" => Event::Evaluate {
                    repo,
                    pr,
                    head,
                    why: format!("pull_request.{}", payload.action),
                },
                "edited"
                    if payload
                        .changes
                        .as_ref()
                        .is_some_and(|c| c.get("base").is_some()) =>
                {
                    Event::Evaluate {
                        repo,
                        pr,
                        head,
                        why: "pull_request.edited (base changed)".to_owned(),
                    }
                }
                "closed" if payload.pull_request.merged == Some(true) => {
                    match payload.pull_request.merge_commit_sha {
                        Some(sha) => Event::Merged {
                            repo,
                            pr,
                            merge_commit: CommitSha(sha),
                        },
                        None => Event::Ignored(
                            "merged pull request without merge_commit_sha".to_owned(),
                        ),
                    }
                }
                other => Event::Ignored(format!("pull_request.{other}")),
            }
        }
        "pull_request_review" => {
            let payload: ReviewEvent = serde_json::from_slice(body).map_err(bad)?;
            let pr = PullRequestNumber(payload.pull_request.number);
            let head = Some(CommitSha(payload.pull_request.head.sha));
            let repo = repo_ref(&event_name, payload.repository, payload.installation)?;
            match payload.action.as_str() {
                "submitted" | "dismissed" | "edited" => Event::Evaluate {
                    repo,
                    pr,
                    head,
                    why: format!("pull_request_review.{}", payload.action),
                },
                other => Event::Ignored(format!("pull_request_review.{other}")),
            }
        }
        "issue_comment" => {
            let payload: IssueCommentEvent = serde_json::from_slice(body).map_err(bad)?;
            // A risk acceptance that is edited or deleted changes the verdict as much as a
            // new one: the approvals check must never be left stale.
            let before = payload
                .changes
                .as_ref()
                .and_then(|c| c["body"]["from"].as_str())
                .unwrap_or("");
            let now = payload.comment.body.as_deref().unwrap_or("");
            let command = [now, before]
                .into_iter()
                .map(str::trim_start)
                .find(|text| is_command(text));
            let known_action = matches!(payload.action.as_str(), "created" | "edited" | "deleted");
            match command {
                _ if payload.issue.pull_request.is_none() => {
                    Event::Ignored("comment on an issue, not a pull request".to_owned())
                }
                Some(command) if known_action => {
                    let repo = repo_ref(&event_name, payload.repository, payload.installation)?;
                    let verb = command.split_whitespace().nth(1).unwrap_or("rerun");
                    Event::Evaluate {
                        repo,
                        pr: PullRequestNumber(payload.issue.number),
                        head: None,
                        why: format!("/modelgate {verb} ({})", payload.action),
                    }
                }
                _ => Event::Ignored(format!(
                    "issue_comment.{} without a modelgate command",
                    payload.action
                )),
            }
        }
        "check_run" => {
            let payload: CheckRunEvent = serde_json::from_slice(body).map_err(bad)?;
            rerequested(
                &event_name,
                &payload.action,
                payload.check_run,
                payload.repository,
                payload.installation,
            )?
        }
        "check_suite" => {
            let payload: CheckSuiteEvent = serde_json::from_slice(body).map_err(bad)?;
            rerequested(
                &event_name,
                &payload.action,
                payload.check_suite,
                payload.repository,
                payload.installation,
            )?
        }
        "installation" | "installation_repositories" => {
            let payload: InstallationEvent = serde_json::from_slice(body).map_err(bad)?;
            Event::Installation {
                action: payload.action,
                installation: payload.installation.id,
            }
        }
        other => Event::Ignored(format!("event {other}")),
    })
}

/// Whether a comment is a modelgate command: `/modelgate rerun` or `/modelgate accept-risk`,
/// as a whole word (`/modelgate rerunning` is not).
fn is_command(text: &str) -> bool {
    ["/modelgate rerun", "/modelgate accept-risk"]
        .iter()
        .any(|command| {
            text.strip_prefix(command)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
        })
}

fn rerequested(
    event: &str,
    action: &str,
    body: CheckRunBody,
    repository: Repository,
    installation: Option<Installation>,
) -> Result<Event, PayloadError> {
    if action != "rerequested" {
        return Ok(Event::Ignored(format!("{event}.{action}")));
    }
    let repo = repo_ref(event, repository, installation)?;
    let prs: Vec<PullRequestNumber> = body
        .pull_requests
        .iter()
        .map(|p| PullRequestNumber(p.number))
        .collect();
    Ok(match prs.as_slice() {
        [] => Event::EvaluateHead {
            repo,
            head: CommitSha(body.head_sha),
            why: format!("{event}.rerequested"),
        },
        [pr] => Event::Evaluate {
            repo,
            pr: *pr,
            head: Some(CommitSha(body.head_sha)),
            why: format!("{event}.rerequested"),
        },
        _ => Event::EvaluateMany {
            repo,
            prs,
            why: format!("{event}.rerequested"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names() {
        assert_eq!(
            RepoName::parse("acme/models").map(|r| r.to_string()),
            Some("acme/models".to_owned())
        );
        assert_eq!(RepoName::parse("acme"), None);
        assert_eq!(RepoName::parse("a/b/c"), None);
    }

    #[test]
    fn comments_without_a_command_are_ignored() {
        let body = br#"{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"body":"LGTM"},"repository":{"full_name":"a/b"}}"#;
        assert!(matches!(
            parse("issue_comment", body),
            Ok(Event::Ignored(_))
        ));
        let body = br#"{"action":"created","issue":{"number":1,"pull_request":{}},"comment":{"body":"/modelgate rerun"},"repository":{"full_name":"a/b"}}"#;
        assert!(matches!(
            parse("issue_comment", body),
            Ok(Event::Evaluate { .. })
        ));
    }

    #[test]
    fn an_edited_or_deleted_command_re_evaluates() {
        let deleted = br#"{"action":"deleted","issue":{"number":4,"pull_request":{}},"comment":{"body":"/modelgate accept-risk fine"},"repository":{"full_name":"a/b"}}"#;
        assert!(matches!(
            parse("issue_comment", deleted),
            Ok(Event::Evaluate {
                pr: PullRequestNumber(4),
                ..
            })
        ));
        // The command was edited away: the acceptance it made is gone.
        let edited = br#"{"action":"edited","issue":{"number":4,"pull_request":{}},"comment":{"body":"never mind"},"changes":{"body":{"from":"/modelgate accept-risk fine"}},"repository":{"full_name":"a/b"}}"#;
        assert!(matches!(
            parse("issue_comment", edited),
            Ok(Event::Evaluate {
                pr: PullRequestNumber(4),
                ..
            })
        ));
        let unrelated = br#"{"action":"edited","issue":{"number":4,"pull_request":{}},"comment":{"body":"typo fixed"},"changes":{"body":{"from":"typo"}},"repository":{"full_name":"a/b"}}"#;
        assert!(matches!(
            parse("issue_comment", unrelated),
            Ok(Event::Ignored(_))
        ));
    }

    #[test]
    fn a_malformed_payload_is_an_error_naming_the_event() {
        let error = parse("pull_request", b"{\"action\": 3}").expect_err("bad");
        assert!(
            error.to_string().starts_with("pull_request payload: "),
            "{error}"
        );
    }
}
