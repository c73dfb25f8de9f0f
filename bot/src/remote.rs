//! Fetching from and pushing to a repository's remote with libgit2, authenticated with a
//! GitHub token (user `x-access-token`), for the bot's cache and the Action's checkout.

use std::cell::Cell;
use std::path::Path;

use modelgate_core::audit::NOTES_REF;

#[derive(Debug, thiserror::Error)]
#[error("{context}: {message}")]
pub struct RemoteError {
    pub context: String,
    pub message: String,
}

fn failed(context: impl Into<String>) -> impl FnOnce(git2::Error) -> RemoteError {
    let context = context.into();
    move |error| RemoteError {
        context,
        message: error.message().to_owned(),
    }
}

/// Credentials for GitHub over HTTPS. libgit2 asks again whenever a credential is refused;
/// answering once and then failing turns a bad token into an error instead of a loop.
fn callbacks(token: Option<&str>) -> git2::RemoteCallbacks<'_> {
    let mut callbacks = git2::RemoteCallbacks::new();
    if let Some(token) = token {
        let asked = Cell::new(false);
        callbacks.credentials(move |_, _, _| {
            if asked.replace(true) {
                return Err(git2::Error::from_str(
                    "the remote refused the token (user x-access-token)",
                ));
            }
            git2::Cred::userpass_plaintext("x-access-token", token)
        });
    }
    callbacks
}

/// Opens the bare repository at `path`, creating it when absent.
pub fn open_or_init_bare(path: &Path) -> Result<git2::Repository, RemoteError> {
    match git2::Repository::open_bare(path) {
        Ok(repo) => Ok(repo),
        Err(_) => git2::Repository::init_bare(path)
            .map_err(failed(format!("creating {}", path.display()))),
    }
}

/// Fetches `refspecs` from `url` into `repo`. A refspec whose source the remote lacks
/// (no audit notes yet, say) fetches nothing rather than failing.
pub fn fetch(
    repo: &git2::Repository,
    url: &str,
    refspecs: &[String],
    token: Option<&str>,
) -> Result<(), RemoteError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(failed("opening the remote"))?;
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks(token));
    remote
        .fetch(refspecs, Some(&mut options), None)
        .map_err(failed(format!(
            "fetching {} from {url}",
            refspecs.join(" ")
        )))
}

/// Pushes the audit ledger (`refs/notes/modelgate`) to `url`.
pub fn push_notes(
    repo: &git2::Repository,
    url: &str,
    token: Option<&str>,
) -> Result<(), RemoteError> {
    let mut remote = repo
        .remote_anonymous(url)
        .map_err(failed("opening the remote"))?;
    let mut options = git2::PushOptions::new();
    let mut callbacks = callbacks(token);
    // libgit2 reports a ref the remote rejected (not a fast-forward, protected) here,
    // not as an error of `push` itself.
    let rejected: std::rc::Rc<Cell<Option<String>>> = std::rc::Rc::default();
    let sink = rejected.clone();
    callbacks.push_update_reference(move |name, status| {
        if let Some(status) = status {
            sink.set(Some(format!("{name}: {status}")));
        }
        Ok(())
    });
    options.remote_callbacks(callbacks);
    let context = format!("pushing {NOTES_REF} to {url}");
    remote
        .push(&[format!("{NOTES_REF}:{NOTES_REF}")], Some(&mut options))
        .map_err(failed(context.clone()))?;
    match rejected.take() {
        Some(message) => Err(RemoteError {
            context,
            message: format!("the remote rejected {message}"),
        }),
        None => Ok(()),
    }
}
