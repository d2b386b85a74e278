//! The running instance's side of the control socket.
//!
//! What a client can hold is bounded, so that clients that misbehave (or a flood of
//! them) cannot stop the socket from answering, nor the app from working:
//!
//! - at most [`MAX_CONNECTIONS`] connections are served at once; a slot is taken
//!   *before* accepting, so more clients wait in the kernel's queue, holding no
//!   descriptor and no task of the app;
//! - a request must arrive within [`REQUEST_DEADLINE`] and be at most [`MAX_REQUEST`]
//!   bytes; a whole exchange is cut at [`EXCHANGE_DEADLINE`];
//! - when accepting fails (e.g. the process is out of descriptors), the next try waits
//!   ([`AcceptErrors`]), and the failure is logged once per episode, not once per try.

use std::fs::{File, TryLockError};
use std::io::ErrorKind;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::protocol::Response;
use super::{client, lock_path, IpcError};
use crate::backoff::Backoff;
use crate::control::Request;

/// Longest request line accepted, newline included.
pub const MAX_REQUEST: usize = 4096;
/// Connections served at once; more wait in the kernel's queue.
pub const MAX_CONNECTIONS: usize = 32;
/// How long a client has to send its request after connecting.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long a whole exchange (request, the app's answer, writing it) may take.
pub const EXCHANGE_DEADLINE: Duration = Duration::from_secs(30);
/// The first pause after a failed accept; it doubles while accepting keeps failing.
pub const ACCEPT_PAUSE_MIN: Duration = Duration::from_millis(10);
/// The longest pause between two tries to accept.
pub const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);
/// How long after its last failure an accept that works ends an episode of failures.
pub const ACCEPT_QUIET: Duration = Duration::from_secs(10);

/// How often the socket file is checked to still be there (a deleted support folder
/// takes it along; without it the CLI cannot reach this instance, and a second one
/// could start).
pub const SOCKET_CHECK: Duration = Duration::from_secs(5);

/// How long the check of a socket left by an instance without the lock may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A request from the socket and where to send the answer.
pub type Incoming = (Request, oneshot::Sender<Response>);

/// A bound control socket; the file is removed when dropped. The lock file beside it
/// stays locked for as long as this lives: that is what makes this instance the only one.
/// The lock file itself is never removed: a start that had opened it just before and one
/// that created a new one could then both hold "the" lock.
pub struct Bound {
    listener: UnixListener,
    path: PathBuf,
    _lock: File,
}

impl Drop for Bound {
    fn drop(&mut self) {
        // Runs before the fields are dropped: the socket goes while the lock is held.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Claims the single instance and binds the control socket at `path`.
///
/// The claim is an exclusive lock on `control.lock` beside the socket, taken before the
/// socket is touched: when another instance holds it, this fails with
/// [`IpcError::AlreadyRunning`]. Holding it, a socket left by a dead instance is
/// replaced safely. Missing folders are created private to the user (0700); folders
/// that exist keep their mode. The socket is made 0600.
pub async fn bind(path: &Path) -> Result<Bound, IpcError> {
    let lock = claim_in_folder(path)?;
    if std::fs::symlink_metadata(path).is_ok() {
        // A version from before the lock file would answer here without holding it.
        if client::request(path, Request::Status, PROBE_TIMEOUT)
            .await
            .is_ok()
        {
            return Err(IpcError::AlreadyRunning(path.to_path_buf()));
        }
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(io(path)(e)),
            _ => {}
        }
    }
    Ok(Bound {
        listener: listen(path)?,
        path: path.to_path_buf(),
        _lock: lock,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IpcError {
    let path = path.to_path_buf();
    move |source| IpcError::Io { path, source }
}

/// Creates the socket's folder when missing (0700) and claims the lock beside `socket`.
fn claim_in_folder(socket: &Path) -> Result<File, IpcError> {
    let dir = socket.parent().unwrap_or(Path::new("."));
    crate::private_dir::create(dir).map_err(io(dir))?;
    claim(&lock_path(socket), socket)
}

/// Binds the socket at `path` (0600).
fn listen(path: &Path) -> Result<UnixListener, IpcError> {
    let listener = UnixListener::bind(path).map_err(io(path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))?;
    Ok(listener)
}

/// Opens (creating it 0600) and locks the lock file, without waiting; a lock held by
/// another process means an instance answers, or is about to, at `socket`.
fn claim(lock: &Path, socket: &Path) -> Result<File, IpcError> {
    let io = |source| IpcError::Io {
        path: lock.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(lock)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(IpcError::AlreadyRunning(socket.to_path_buf())),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

/// What to do after a failed accept: how long to pause, and whether to log it. An
/// episode of failures is logged when it starts, and when it ends: at the first accept
/// that works [`ACCEPT_QUIET`] or more after the last failure (so that accepting one
/// connection now and then while descriptors stay short does not log each time).
#[derive(Debug)]
pub struct AcceptErrors {
    backoff: Backoff,
    episode: Option<Episode>,
}

#[derive(Debug)]
struct Episode {
    failures: u32,
    last: Instant,
}

/// The decision after one failed accept.
#[derive(Debug, PartialEq, Eq)]
pub struct Pause {
    pub delay: Duration,
    /// The first failure of an episode: worth a log line.
    pub report: bool,
}

impl Default for AcceptErrors {
    fn default() -> Self {
        AcceptErrors {
            backoff: Backoff::new(ACCEPT_PAUSE_MIN, ACCEPT_PAUSE_MAX),
            episode: None,
        }
    }
}

impl AcceptErrors {
    /// Accepting failed (once more) at `now`.
    pub fn failed(&mut self, now: Instant) -> Pause {
        let report = self.episode.is_none();
        let episode = self.episode.get_or_insert(Episode {
            failures: 0,
            last: now,
        });
        episode.failures += 1;
        episode.last = now;
        Pause {
            delay: self.backoff.next_ceiling(),
            report,
        }
    }

    /// Accepting worked at `now`: the number of failures of the episode this ends, if
    /// it ends one.
    pub fn succeeded(&mut self, now: Instant) -> Option<u32> {
        self.backoff.reset();
        let quiet = self
            .episode
            .as_ref()
            .is_some_and(|e| now.saturating_duration_since(e.last) >= ACCEPT_QUIET);
        if quiet {
            self.episode.take().map(|e| e.failures)
        } else {
            None
        }
    }
}

impl Bound {
    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the socket file is gone (deleted with its folder, say).
    fn gone(&self) -> bool {
        std::fs::symlink_metadata(&self.path).is_err_and(|e| e.kind() == ErrorKind::NotFound)
    }

    /// Claims the folder's lock and binds again after the socket was deleted.
    fn rebind(&mut self) -> Result<(), IpcError> {
        let lock = claim_in_folder(&self.path)?;
        self.listener = listen(&self.path)?;
        self._lock = lock;
        Ok(())
    }

    /// Accepts connections until the receiver of `to_app` is gone; each request is
    /// handed to the app, which answers through the oneshot. A socket deleted behind
    /// the app's back is created again within [`SOCKET_CHECK`].
    pub async fn serve(mut self, to_app: mpsc::Sender<Incoming>) {
        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let mut errors = AcceptErrors::default();
        let mut check = tokio::time::interval(SOCKET_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => match slot {
                    Ok(slot) => slot,
                    // Only a closed semaphore fails, and this one is never closed.
                    Err(_) => return,
                },
                _ = to_app.closed() => return,
            };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => Some(accepted),
                _ = check.tick() => None,
                _ = to_app.closed() => return,
            };
            let Some(accepted) = accepted else {
                if self.gone() {
                    match self.rebind() {
                        Ok(()) => {
                            tracing::warn!(socket = %self.path.display(), "the control socket was deleted; created it again")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "the control socket was deleted and cannot be created again")
                        }
                    }
                }
                continue;
            };
            match accepted {
                Ok((stream, _)) => {
                    if let Some(failures) = errors.succeeded(Instant::now()) {
                        tracing::info!(failures, "the control socket accepts connections again");
                    }
                    let to_app = to_app.clone();
                    tokio::spawn(async move {
                        let _slot = slot;
                        let _ = tokio::time::timeout(
                            EXCHANGE_DEADLINE,
                            exchange(stream, to_app, REQUEST_DEADLINE),
                        )
                        .await;
                    });
                }
                Err(e) => {
                    let pause = errors.failed(Instant::now());
                    if pause.report {
                        tracing::warn!(
                            error = %e,
                            "the control socket cannot accept connections; retrying at most every {}s (logged again when it works)",
                            ACCEPT_PAUSE_MAX.as_secs()
                        );
                    }
                    drop(slot);
                    tokio::select! {
                        _ = tokio::time::sleep(pause.delay) => {}
                        _ = to_app.closed() => return,
                    }
                }
            }
        }
    }
}

/// Serves one connection: reads one request (within `request_deadline`), hands it to
/// the app, writes the answer. The caller bounds the whole exchange.
async fn exchange(stream: UnixStream, to_app: mpsc::Sender<Incoming>, request_deadline: Duration) {
    let (read, mut write) = stream.into_split();
    let request = match tokio::time::timeout(request_deadline, read_request(read)).await {
        Ok(request) => request,
        Err(_) => Err(format!(
            "no request within {}s",
            request_deadline.as_secs_f32()
        )),
    };
    let response = match request {
        Err(message) => Response::error(message),
        Ok(request) => {
            let (reply, answer) = oneshot::channel();
            if to_app.send((request, reply)).await.is_err() {
                Response::error("the app is stopping")
            } else {
                answer
                    .await
                    .unwrap_or_else(|_| Response::error("the app is stopping"))
            }
        }
    };
    // A client may be another user's script: no known secret leaves in an answer.
    if let Ok(text) = serde_json::to_string(&response) {
        let text = crate::secrets::scrub(&text) + "\n";
        let _ = write.write_all(text.as_bytes()).await;
    }
}

/// Reads one request line of at most [`MAX_REQUEST`] bytes; the error is the message
/// for the client.
async fn read_request(read: impl AsyncRead + Unpin) -> Result<Request, String> {
    let mut line = Vec::new();
    BufReader::new(read)
        .take(MAX_REQUEST as u64 + 1)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| format!("cannot read the request: {e}"))?;
    if line.len() > MAX_REQUEST {
        return Err(format!("bad request: longer than {MAX_REQUEST} bytes"));
    }
    serde_json::from_slice(&line).map_err(|e| format!("bad request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_pause_longer_each_time_and_are_reported_once_per_episode() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut errors = AcceptErrors::default();
        assert_eq!(errors.succeeded(at(0)), None, "no episode to end");
        let pauses: Vec<Pause> = (0..10).map(|i| errors.failed(at(i))).collect();
        assert!(pauses[0].report);
        assert!(pauses[1..].iter().all(|p| !p.report), "{pauses:?}");
        assert_eq!(pauses[0].delay, ACCEPT_PAUSE_MIN);
        assert_eq!(pauses[1].delay, ACCEPT_PAUSE_MIN * 2);
        assert_eq!(pauses[9].delay, ACCEPT_PAUSE_MAX);
        assert!(pauses.iter().all(|p| p.delay >= ACCEPT_PAUSE_MIN));

        // One accept that works soon after does not end the episode, but the pauses
        // start short again.
        assert_eq!(errors.succeeded(at(20)), None);
        let again = errors.failed(at(30));
        assert!(!again.report, "the same episode");
        assert_eq!(again.delay, ACCEPT_PAUSE_MIN);

        let quiet = 30 + ACCEPT_QUIET.as_millis() as u64;
        assert_eq!(errors.succeeded(at(quiet - 1)), None);
        assert_eq!(errors.succeeded(at(quiet)), Some(11));
        assert_eq!(errors.succeeded(at(quiet + 1)), None, "ended once");
        let next = errors.failed(at(quiet + 2));
        assert!(next.report, "a new episode is reported");
        assert_eq!(next.delay, ACCEPT_PAUSE_MIN);
    }

    #[tokio::test]
    async fn requests_are_one_bounded_json_line() {
        let status = b"{\"command\":\"status\"}\n";
        assert_eq!(read_request(&status[..]).await, Ok(Request::Status));
        let unterminated = b"{\"command\":\"quit\"}";
        assert_eq!(read_request(&unterminated[..]).await, Ok(Request::Quit));
        let unknown = b"{\"command\":\"format\"}\n";
        assert!(read_request(&unknown[..]).await.is_err());
        let empty = read_request(&b""[..]).await.unwrap_err();
        assert!(empty.starts_with("bad request"), "{empty}");

        let padded = |spaces: usize| [vec![b' '; spaces], status.to_vec()].concat();
        let fits = padded(MAX_REQUEST - status.len());
        assert_eq!(read_request(&fits[..]).await, Ok(Request::Status));
        let long = padded(MAX_REQUEST - status.len() + 1);
        let refused = read_request(&long[..]).await.unwrap_err();
        assert!(refused.contains("longer than 4096 bytes"), "{refused}");
    }

    #[tokio::test]
    async fn a_client_that_says_nothing_is_told_so_and_dropped() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (to_app, _app) = mpsc::channel(1);
        tokio::spawn(exchange(ours, to_app, Duration::from_millis(50)));
        let mut answer = String::new();
        let mut theirs = BufReader::new(theirs);
        theirs.read_line(&mut answer).await.unwrap();
        let response: Response = serde_json::from_str(&answer).unwrap();
        assert!(!response.ok);
        assert_eq!(response.message.as_deref(), Some("no request within 0.05s"));
        assert_eq!(theirs.read_line(&mut answer).await.unwrap(), 0, "closed");
    }

    #[tokio::test]
    async fn a_request_sent_byte_by_byte_must_still_arrive_within_the_deadline() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let (to_app, _app) = mpsc::channel(1);
        let served = tokio::spawn(exchange(ours, to_app, Duration::from_millis(200)));
        let (read, mut write) = theirs.into_split();
        tokio::spawn(async move {
            for byte in b"{\"command\":\"status\"}\n".iter().cycle() {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if write.write_all(&[*byte]).await.is_err() {
                    break;
                }
            }
        });
        let mut answer = String::new();
        BufReader::new(read).read_line(&mut answer).await.unwrap();
        let response: Response = serde_json::from_str(&answer).unwrap();
        assert_eq!(response.message.as_deref(), Some("no request within 0.2s"));
        served.await.unwrap();
    }

    #[tokio::test]
    async fn one_instance_holds_the_socket_and_folders_it_did_not_make_keep_their_mode() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;

        let socket = shared.join("control.sock");
        let first = bind(&socket).await.unwrap();
        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&socket), 0o600);
        assert_eq!(mode(&shared.join("control.lock")), 0o600);
        match bind(&socket).await {
            Err(IpcError::AlreadyRunning(at)) => assert_eq!(at, socket),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("a second instance bound the socket"),
        }
        assert!(socket.exists(), "the loser leaves the socket alone");
        drop(first);
        assert!(!socket.exists(), "removed on drop");

        // A socket left behind (a dead instance) is replaced.
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        let _again = bind(&socket).await.unwrap();

        let made = root.path().join("made/here/control.sock");
        let _other = bind(&made).await.unwrap();
        assert_eq!(mode(&root.path().join("made")), 0o700);
        assert_eq!(mode(&root.path().join("made/here")), 0o700);
    }
}
