//! `modelgate serve` configuration: environment variables (`MODELGATE_*`) over an optional
//! TOML file with the same names in lower case.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::events::RepoName;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Toml { path: String, message: String },
    #[error("{name} is `{value}`: expected {expected}")]
    Invalid {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error(
        "no GitHub credentials: set MODELGATE_GITHUB_TOKEN, or MODELGATE_APP_ID with MODELGATE_PRIVATE_KEY_FILE"
    )]
    NoCredentials,
    #[error("no webhook secret: set MODELGATE_WEBHOOK_SECRET (comma-separated to rotate)")]
    NoSecret,
}

/// How the bot authenticates to GitHub.
#[derive(Debug, Clone)]
pub enum Credentials {
    Token(Secret),
    App {
        app_id: u64,
        private_key_pem: Secret,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Several while a secret is being rotated.
    pub webhook_secrets: Vec<Secret>,
    pub credentials: Credentials,
    pub api_url: String,
    pub cache_dir: PathBuf,
    pub workers: usize,
    /// Minutes between reconciliations of open pull requests.
    pub reconcile_minutes: u64,
    /// Repositories to reconcile in token mode (an app finds its own through installations).
    pub repositories: Vec<RepoName>,
    /// The queue's database: `sqlite://…` (the default, a file in the cache directory) or
    /// `postgres://…` for replicas sharing one queue. May hold a password: never log it
    /// unredacted.
    pub database_url: Secret,
    /// This replica's name on its leases; a restarted process with the same name takes its
    /// leases back at once.
    pub replica_id: String,
    /// How long a job's lease lasts without renewal (a dead worker's job waits this long).
    pub lease_seconds: u64,
    /// Attempts of a failing job before it stops with the error posted.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles it.
    pub retry_seconds: u64,
}

/// The TOML file: every key optional, named as the environment variable without the prefix.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    webhook_secret: Option<Secret>,
    github_token: Option<Secret>,
    app_id: Option<u64>,
    private_key_file: Option<PathBuf>,
    api_url: Option<String>,
    cache_dir: Option<PathBuf>,
    workers: Option<usize>,
    reconcile_minutes: Option<u64>,
    repositories: Option<Vec<String>>,
    database_url: Option<Secret>,
    replica_id: Option<String>,
    lease_seconds: Option<u64>,
    max_attempts: Option<u32>,
    retry_seconds: Option<u64>,
}

impl Config {
    /// Reads the file (if any), then lets each set `MODELGATE_*` variable override it.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let from_file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Toml {
                    path: path.display().to_string(),
                    message: toml_message(&text, &e),
                })?
            }
            None => FileConfig::default(),
        };
        let var = |name: &str| env(&format!("MODELGATE_{name}")).filter(|v| !v.is_empty());
        let parse = |name: &str, value: String, expected: &'static str| ConfigError::Invalid {
            name: format!("MODELGATE_{name}"),
            value,
            expected,
        };

        let listen_text = var("LISTEN")
            .or(from_file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            parse(
                "LISTEN",
                listen_text.clone(),
                "an address such as 127.0.0.1:8080",
            )
        })?;
        let webhook_secrets: Vec<Secret> = var("WEBHOOK_SECRET")
            .map(Secret::from)
            .or(from_file.webhook_secret)
            .map(|s| {
                s.expose()
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Secret::new)
                    .collect()
            })
            .unwrap_or_default();
        if webhook_secrets.is_empty() {
            return Err(ConfigError::NoSecret);
        }
        let app_id = match var("APP_ID") {
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| parse("APP_ID", text.clone(), "a number"))?,
            ),
            None => from_file.app_id,
        };
        let key_file = var("PRIVATE_KEY_FILE")
            .map(PathBuf::from)
            .or(from_file.private_key_file);
        let credentials = match (
            var("GITHUB_TOKEN")
                .map(Secret::from)
                .or(from_file.github_token),
            app_id,
            key_file,
        ) {
            (Some(token), _, _) => Credentials::Token(token),
            (None, Some(app_id), Some(path)) => {
                let private_key_pem =
                    std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                        path: path.display().to_string(),
                        source,
                    })?;
                Credentials::App {
                    app_id,
                    private_key_pem: Secret::from(private_key_pem),
                }
            }
            _ => return Err(ConfigError::NoCredentials),
        };
        let workers = match var("WORKERS") {
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| parse("WORKERS", text, "a whole number above 0"))?,
            None => from_file.workers.unwrap_or(2).max(1),
        };
        let reconcile_minutes = match var("RECONCILE_MINUTES") {
            Some(text) => text
                .parse::<u64>()
                .map_err(|_| parse("RECONCILE_MINUTES", text, "a whole number of minutes"))?,
            None => from_file.reconcile_minutes.unwrap_or(10),
        };
        let names: Vec<String> = match var("REPOSITORIES") {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => from_file.repositories.unwrap_or_default(),
        };
        let repositories = names
            .into_iter()
            .map(|name| {
                RepoName::parse(&name).ok_or_else(|| {
                    parse("REPOSITORIES", name, "owner/name entries, comma-separated")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cache_dir = var("CACHE_DIR")
            .map(PathBuf::from)
            .or(from_file.cache_dir)
            .unwrap_or_else(|| std::env::temp_dir().join("modelgate-cache"));
        let database_url = var("DATABASE_URL")
            .map(Secret::from)
            .or(from_file.database_url)
            .unwrap_or_else(|| {
                Secret::from(format!(
                    "sqlite://{}",
                    cache_dir.join("modelgate.db").display()
                ))
            });
        let replica_id = var("REPLICA_ID")
            .or(from_file.replica_id)
            .unwrap_or_else(|| format!("{}:{}", host_name(), listen.port()));
        let number = |name: &str,
                      from_file: Option<u64>,
                      default: u64,
                      range: std::ops::RangeInclusive<u64>,
                      expected: &'static str| {
            let value = match var(name) {
                Some(text) => text
                    .parse::<u64>()
                    .map_err(|_| parse(name, text, expected))?,
                None => from_file.unwrap_or(default),
            };
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(parse(name, value.to_string(), expected))
            }
        };
        let lease_seconds = number(
            "LEASE_SECONDS",
            from_file.lease_seconds,
            60,
            1..=60,
            "whole seconds from 1 to 60",
        )?;
        let max_attempts = number(
            "MAX_ATTEMPTS",
            from_file.max_attempts.map(u64::from),
            5,
            1..=100,
            "a whole number from 1 to 100",
        )? as u32;
        let retry_seconds = number(
            "RETRY_SECONDS",
            from_file.retry_seconds,
            30,
            0..=86_400,
            "whole seconds up to a day",
        )?;
        Ok(Config {
            database_url,
            replica_id,
            lease_seconds,
            max_attempts,
            retry_seconds,
            repositories,
            listen,
            webhook_secrets,
            credentials,
            api_url: var("API_URL")
                .or(from_file.api_url)
                .unwrap_or_else(|| "https://api.github.com".to_owned()),
            cache_dir,
            workers,
            reconcile_minutes,
        })
    }
}

/// This machine's name, for the default replica id.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "modelgate".to_owned())
}

/// The parse error with its position but without the snippet `toml` quotes: the line it
/// would show may hold the webhook secret or the token.
fn toml_message(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return error.message().to_owned();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("line {line}, column {column}: {}", error.message())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().expect("temp");
        let file = dir.path().join("modelgate.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9000\"\nwebhook_secret = \"a,b\"\ngithub_token = \"t\"\nworkers = 4\n").expect("write");
        let env = HashMap::from([("MODELGATE_WORKERS".to_owned(), "8".to_owned())]);
        let config = Config::load(Some(&file), &|k| env.get(k).cloned()).expect("valid");
        assert_eq!(config.listen.port(), 9000);
        let secrets: Vec<&str> = config.webhook_secrets.iter().map(Secret::expose).collect();
        assert_eq!(secrets, ["a", "b"]);
        assert_eq!(config.workers, 8);
        assert_eq!(config.api_url, "https://api.github.com");
        assert!(matches!(config.credentials, Credentials::Token(_)));
        assert_eq!(format!("{:?}", config.credentials), "Token([redacted])");
    }

    #[test]
    fn debug_redacts_every_secret() {
        let dir = tempfile::tempdir().expect("temp");
        let key_file = dir.path().join("app.pem");
        let key =
            "-----BEGIN RSA PRIVATE KEY-----\nkey-material-42\n-----END RSA PRIVATE KEY-----\n";
        std::fs::write(&key_file, key).expect("write");
        let env = HashMap::from([
            (
                "MODELGATE_WEBHOOK_SECRET".to_owned(),
                "old-hook-secret, new-hook-secret".to_owned(),
            ),
            ("MODELGATE_APP_ID".to_owned(), "12345".to_owned()),
            (
                "MODELGATE_PRIVATE_KEY_FILE".to_owned(),
                key_file.display().to_string(),
            ),
        ]);
        let app = Config::load(None, &|k| env.get(k).cloned()).expect("valid");
        let shown = format!("{app:?} {app:#?}");
        for secret in [
            "old-hook-secret",
            "new-hook-secret",
            "key-material-42",
            "PRIVATE KEY",
        ] {
            assert!(!shown.contains(secret), "{secret} leaks: {shown}");
        }
        assert!(shown.contains("app_id: 12345"), "{shown}");

        let file = dir.path().join("modelgate.toml");
        std::fs::write(
            &file,
            "webhook_secret = \"file-hook-secret\"\ngithub_token = \"ghp_file_token\"\n",
        )
        .expect("write");
        let token = Config::load(Some(&file), &|_| None).expect("valid");
        let shown = format!("{token:?}");
        for secret in ["file-hook-secret", "ghp_file_token"] {
            assert!(!shown.contains(secret), "{secret} leaks: {shown}");
        }
        std::fs::write(&file, "webhook_secret = \"file-hook-secret\" oops\n").expect("write");
        let error = Config::load(Some(&file), &|_| None).expect_err("bad toml");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("file-hook-secret"), "{shown}");
        assert!(shown.contains("line 1, column"), "{shown}");

        std::fs::write(
            &file,
            "webhook_secret = \"file-hook-secret\"\ngithub_token = \"ghp_file_token\"\n",
        )
        .expect("write");
        let text = std::fs::read_to_string(&file).expect("read");
        let parsed: FileConfig = toml::from_str(&text).expect("toml");
        let shown = format!("{parsed:?}");
        assert!(
            !shown.contains("file-hook-secret") && !shown.contains("ghp_file_token"),
            "{shown}"
        );
    }

    #[test]
    fn missing_or_bad_settings_are_named() {
        let none = |_: &str| None;
        assert!(matches!(
            Config::load(None, &none),
            Err(ConfigError::NoSecret)
        ));
        let env = HashMap::from([("MODELGATE_WEBHOOK_SECRET".to_owned(), "s".to_owned())]);
        assert!(matches!(
            Config::load(None, &|k| env.get(k).cloned()),
            Err(ConfigError::NoCredentials)
        ));
        let env = HashMap::from([
            ("MODELGATE_WEBHOOK_SECRET".to_owned(), "s".to_owned()),
            ("MODELGATE_GITHUB_TOKEN".to_owned(), "t".to_owned()),
            ("MODELGATE_LISTEN".to_owned(), "everywhere".to_owned()),
        ]);
        let error = Config::load(None, &|k| env.get(k).cloned()).expect_err("bad address");
        assert_eq!(
            error.to_string(),
            "MODELGATE_LISTEN is `everywhere`: expected an address such as 127.0.0.1:8080"
        );
    }
}
