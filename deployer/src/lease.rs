//! One writer at a time: the commands that change a stack (`up`, `down`, `update`, `logging`,
//! `secret rotate`) hold a lease on it while they change it, an SSM parameter
//! `/cfrp/<stack>/lease` whose JSON value says who holds it (user@host, pid), for which
//! command, since when and until when. A second writer fails at once naming the holder; a
//! crashed run's lease expires (TTL [`DEFAULT_TTL`], renewed while the run lives); `deployer
//! unlock` removes a lease whose run is dead.
//!
//! # Why this is safe without compare-and-swap
//!
//! - Taking a free lease is PutParameter with Overwrite=false: SSM creates the parameter or
//!   answers ParameterAlreadyExists, atomically, so of two runs creating it one wins.
//! - Taking over an expired lease cannot be atomic (SSM has no conditional overwrite), but
//!   every successful PutParameter of a name gets the next version number, one higher than
//!   the last. A run that read the expired lease at version v overwrites it and holds it only
//!   when SSM answers version v+1: then no write came between its read and its write. Of
//!   runs racing from the same v, exactly one gets v+1 (versions are unique), so at most one
//!   holds. A run reading any later version sees a live lease (the winner's, or a loser's
//!   just written) and is refused.
//! - A loser (answered v+2 or more) has overwritten the winner's value with its own. It
//!   reads the winner's value back (the `name:v+1` selector) and writes it again, so the
//!   parameter names the run that holds it; then it reports that run. Between its two writes
//!   (milliseconds) a third run would be refused naming the loser, which is still a refusal.
//! - Renewal rewrites the holder's own record with a later expiry, after checking the current
//!   record carries its token; a record with another token means the lease was taken over
//!   (this run stalled past its expiry) and the run stops instead of writing on. Renewing
//!   every TTL/5 keeps a live run's lease far from expiry, so nobody takes it over.
//! - Release deletes the parameter only when it still carries this run's token.
//!
//! Clocks: expiry is compared with the local clock of the run reading it, so two machines'
//! clocks must agree to well within the TTL (ten minutes by default).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_ssm::primitives::{DateTime, DateTimeFormat};
use serde::{Deserialize, Serialize};

use crate::error::DeployError;
use crate::ports::ssm::{Parameters, Written};

/// How long a lease lasts unless renewed: long enough that a stalled network does not lose
/// it, short enough that a crashed run's lease frees the stack soon.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Overrides [`DEFAULT_TTL`] (whole seconds; tests use a few).
pub const TTL_ENV: &str = "CFRP_LEASE_TTL_SECONDS";

/// The parameter holding the stack's lease.
pub fn parameter_name(stack: &str) -> String {
    format!("/cfrp/{stack}/lease")
}

/// The lease's TTL: [`TTL_ENV`] when set to a whole number of seconds above zero.
pub fn ttl_from_env() -> Result<Duration, LeaseError> {
    match std::env::var(TTL_ENV) {
        Err(_) => Ok(DEFAULT_TTL),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
            _ => Err(LeaseError::Ttl { value: text }),
        },
    }
}

/// What the lease parameter holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// `user@host` of the run.
    pub owner: String,
    pub pid: u32,
    /// The command, e.g. `up`.
    pub command: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// RFC 3339, UTC: after this anyone may take the lease over.
    pub expires: String,
    /// Unique to the run: tells its record from another's with the same owner and pid.
    pub token: String,
}

impl LeaseRecord {
    /// Whether the lease has expired at `now` (seconds since the epoch). A record whose
    /// expiry cannot be read counts as live: only `deployer unlock` removes it.
    pub fn expired(&self, now: i64) -> bool {
        parse_time(&self.expires).is_some_and(|expires| expires <= now)
    }

    /// "alice@build-1 (pid 4242) running `deployer up` since …; the lease expires at …".
    pub fn describe(&self) -> String {
        format!(
            "{} (pid {}) running `deployer {}` since {}; the lease expires at {}",
            self.owner, self.pid, self.command, self.started, self.expires
        )
    }
}

/// A lease parameter as found: its record, or the raw value when it is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Record(LeaseRecord),
    Unreadable(String),
}

impl Found {
    fn parse(value: &str) -> Found {
        serde_json::from_str(value)
            .map(Found::Record)
            .unwrap_or_else(|_| Found::Unreadable(value.to_string()))
    }

    pub fn describe(&self) -> String {
        match self {
            Found::Record(record) => record.describe(),
            Found::Unreadable(raw) => format!("an unreadable lease ({raw:?})"),
        }
    }

    fn expired(&self, now: i64) -> bool {
        matches!(self, Found::Record(record) if record.expired(now))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "stack \"{stack}\" is being changed by {}. Wait for it to finish; if that run is dead, `deployer unlock` removes the lease (or wait until it expires)",
        holder.describe()
    )]
    Held { stack: String, holder: Box<Found> },
    #[error(
        "the lease on stack \"{stack}\" was taken over by {} while this run held it (it stalled past its expiry); this run stopped: check with `deployer plan` and run again",
        holder.describe()
    )]
    Lost { stack: String, holder: Box<Found> },
    #[error("{TTL_ENV}={value:?} is not a whole number of seconds above zero")]
    Ttl { value: String },
    #[error(
        "interrupted; the lease on stack \"{stack}\" was released: run the command again to resume"
    )]
    Interrupted { stack: String },
    #[error(transparent)]
    Aws(#[from] DeployError),
}

/// Who is asking for the lease.
#[derive(Debug, Clone)]
pub struct Claimant {
    pub owner: String,
    pub pid: u32,
    pub command: String,
}

impl Claimant {
    /// This process, running `command`.
    pub fn this_process(command: &str) -> Claimant {
        let user = ["USER", "USERNAME", "LOGNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "unknown".to_string());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".to_string());
        Claimant {
            owner: format!("{user}@{host}"),
            pid: std::process::id(),
            command: command.to_string(),
        }
    }
}

/// A held lease.
pub struct Lease {
    parameters: Arc<dyn Parameters>,
    stack: String,
    name: String,
    ttl: Duration,
    /// The record last written (its expiry moves on each renewal).
    record: Mutex<LeaseRecord>,
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn format_time(seconds: i64) -> String {
    DateTime::from_secs(seconds)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_else(|_| seconds.to_string())
}

fn parse_time(text: &str) -> Option<i64> {
    DateTime::from_str(text, DateTimeFormat::DateTime)
        .ok()
        .map(|t| t.secs())
}

fn new_token() -> Result<String, DeployError> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes)
        .map_err(|e| DeployError::state("lease", format!("no random bytes for its token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The lease parameter of `stack` as it is now, with its version; None when free.
pub async fn read(
    parameters: &dyn Parameters,
    stack: &str,
) -> Result<Option<(Found, i64)>, DeployError> {
    Ok(parameters
        .get(&parameter_name(stack))
        .await?
        .map(|p| (Found::parse(&p.value), p.version)))
}

/// Fails at once when another run holds a live lease on `stack`, changing nothing: the
/// read-only check a command makes before planning, so a second writer stops early.
pub async fn check_free(
    parameters: &dyn Parameters,
    stack: &str,
    now: i64,
) -> Result<(), LeaseError> {
    match read(parameters, stack).await? {
        Some((holder, _)) if !holder.expired(now) => Err(LeaseError::Held {
            stack: stack.to_string(),
            holder: Box::new(holder),
        }),
        _ => Ok(()),
    }
}

impl Lease {
    /// Takes the lease on `stack` for `claimant` at `now` (seconds since the epoch): creates
    /// it when free, takes it over when expired (see the module's notes), else refuses
    /// naming the holder.
    pub async fn acquire(
        parameters: Arc<dyn Parameters>,
        stack: &str,
        claimant: &Claimant,
        ttl: Duration,
        now: i64,
    ) -> Result<Lease, LeaseError> {
        let name = parameter_name(stack);
        let record = LeaseRecord {
            owner: claimant.owner.clone(),
            pid: claimant.pid,
            command: claimant.command.clone(),
            started: format_time(now),
            expires: format_time(now.saturating_add(ttl.as_secs() as i64)),
            token: new_token()?,
        };
        let value = serde_json::to_string(&record)
            .map_err(|e| DeployError::state(&name, format!("encoding the lease: {e}")))?;
        let held = |record| Lease {
            parameters: parameters.clone(),
            stack: stack.to_string(),
            name: name.clone(),
            ttl,
            record: Mutex::new(record),
        };
        let refused = |holder| LeaseError::Held {
            stack: stack.to_string(),
            holder: Box::new(holder),
        };
        // A lease released between our create and our read: create again (bounded, as a
        // stack changing hands this fast is a contest we report rather than join forever).
        for _ in 0..3 {
            if let Written::Version(_) = parameters.put(&name, &value, false, false).await? {
                return Ok(held(record));
            }
            let Some(current) = parameters.get(&name).await? else {
                continue;
            };
            let found = Found::parse(&current.value);
            if !found.expired(now) {
                return Err(refused(found));
            }
            let Written::Version(version) = parameters.put(&name, &value, false, true).await?
            else {
                return Err(
                    DeployError::state(&name, "PutParameter with Overwrite refused").into(),
                );
            };
            if version == current.version + 1 {
                return Ok(held(record));
            }
            // Someone wrote between our read and our write: the writer of v+1 won. Put its
            // record back over ours so the parameter names the holder, and report it.
            let winner = parameters.get_version(&name, current.version + 1).await?;
            return Err(match winner {
                Some(winner) => {
                    parameters.put(&name, &winner.value, false, true).await?;
                    refused(Found::parse(&winner.value))
                }
                None => refused(Found::Unreadable(
                    "another run took the lease over at the same moment".to_string(),
                )),
            });
        }
        let holder = read(&*parameters, stack)
            .await?
            .map_or(Found::Unreadable("changing hands".to_string()), |(f, _)| f);
        Err(refused(holder))
    }

    pub fn record(&self) -> LeaseRecord {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Moves the expiry to `now` + TTL, provided the lease is still this run's.
    pub async fn renew(&self, now: i64) -> Result<(), LeaseError> {
        let mine = self.record();
        let lost = |holder| LeaseError::Lost {
            stack: self.stack.clone(),
            holder: Box::new(holder),
        };
        let current = self.parameters.get(&self.name).await?;
        let Some(current) = current else {
            return Err(lost(Found::Unreadable(
                "nobody: the lease was removed (deployer unlock?)".to_string(),
            )));
        };
        match Found::parse(&current.value) {
            Found::Record(record) if record.token == mine.token => {}
            other => return Err(lost(other)),
        }
        let renewed = LeaseRecord {
            expires: format_time(now.saturating_add(self.ttl.as_secs() as i64)),
            ..mine
        };
        let value = serde_json::to_string(&renewed)
            .map_err(|e| DeployError::state(&self.name, format!("encoding the lease: {e}")))?;
        let written = self.parameters.put(&self.name, &value, false, true).await?;
        if written != Written::Version(current.version + 1) {
            // A write came between our read and ours: only a live lease's loser restoring
            // its holder writes then. Ours must be what is there now.
            match read(&*self.parameters, &self.stack).await? {
                Some((Found::Record(record), _)) if record.token == renewed.token => {}
                Some((other, _)) => return Err(lost(other)),
                None => return Err(lost(Found::Unreadable("nobody".to_string()))),
            }
        }
        *self
            .record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = renewed;
        Ok(())
    }

    /// Removes the lease if it is still this run's (one taken over is left to its holder).
    pub async fn release(&self) -> Result<(), DeployError> {
        let mine = self.record();
        if let Some((Found::Record(record), _)) = read(&*self.parameters, &self.stack).await?
            && record.token == mine.token
        {
            self.parameters.delete(&self.name).await?;
        }
        Ok(())
    }
}

/// Runs `work` holding the lease on `stack`: taken first (refused at once when held), renewed
/// every TTL/5 in the background, released at the end whatever `work` returned, and on
/// Ctrl-C (which stops `work`). A lease lost meanwhile stops `work` too.
pub async fn with_lease<T, E>(
    parameters: Arc<dyn Parameters>,
    stack: &str,
    command: &str,
    work: impl Future<Output = Result<T, E>>,
) -> Result<T, E>
where
    E: From<LeaseError>,
{
    let ttl = ttl_from_env()?;
    let claimant = Claimant::this_process(command);
    let lease = Arc::new(Lease::acquire(parameters, stack, &claimant, ttl, now()).await?);
    let renewing = lease.clone();
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<LeaseError>();
    let renewal = tokio::spawn(async move {
        let period = (renewing.ttl() / 5).max(Duration::from_millis(200));
        loop {
            tokio::time::sleep(period).await;
            match renewing.renew(now()).await {
                Ok(()) => {}
                Err(err @ LeaseError::Lost { .. }) => {
                    let _ = lost_tx.send(err);
                    return;
                }
                // A failed renewal (throttling, network) is retried next period: the lease
                // has TTL/5 × 4 left before it could be taken over.
                Err(err) => tracing::warn!("renewing the lease failed (retrying): {err}"),
            }
        }
    });
    let result = tokio::select! {
        result = work => result,
        lost = lost_rx => match lost {
            Ok(lost) => Err(E::from(lost)),
            // The renewal task ended without a word: it cannot (it loops until aborted).
            Err(_) => Err(E::from(LeaseError::Lost {
                stack: stack.to_string(),
                holder: Box::new(Found::Unreadable("unknown".to_string())),
            })),
        },
        _ = tokio::signal::ctrl_c() => Err(E::from(LeaseError::Interrupted { stack: stack.to_string() })),
    };
    renewal.abort();
    if let Err(err) = lease.release().await {
        eprintln!(
            "warning: releasing the lease on stack \"{stack}\" failed ({err}); it expires at {} or `deployer unlock` removes it",
            lease.record().expires
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::fake::FakeAccount;

    const TTL: Duration = Duration::from_secs(600);
    const NAME: &str = "/cfrp/shop/lease";

    fn claimant(owner: &str, command: &str) -> Claimant {
        Claimant {
            owner: owner.to_string(),
            pid: 4242,
            command: command.to_string(),
        }
    }

    fn fake() -> (FakeAccount, Arc<dyn Parameters>) {
        let fake = FakeAccount::new("eu-west-1", "123456789012");
        let ports = fake.ports();
        (fake, ports.parameters)
    }

    fn current(fake: &FakeAccount) -> Option<LeaseRecord> {
        let value = fake.parameter(NAME)?.history.last()?.clone();
        serde_json::from_str(&value).ok()
    }

    #[tokio::test]
    async fn a_free_lease_is_created_atomically_and_a_second_writer_is_refused_naming_the_first() {
        let (fake, parameters) = fake();
        let first = Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("alice@a", "up"),
            TTL,
            1_000,
        )
        .await
        .expect("free lease");
        assert_eq!(current(&fake).map(|r| r.owner), Some("alice@a".to_string()));
        let second = Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("bob@b", "down"),
            TTL,
            1_100,
        )
        .await;
        let Err(err @ LeaseError::Held { .. }) = second else {
            panic!("the second writer must be refused");
        };
        let message = err.to_string();
        assert!(
            message.contains("alice@a (pid 4242) running `deployer up`"),
            "{message}"
        );
        assert!(message.contains("since 1970-01-01T00:16:40Z"), "{message}");
        assert!(
            message.contains("expires at 1970-01-01T00:26:40Z"),
            "{message}"
        );
        assert!(message.contains("`deployer unlock`"), "{message}");
        // The refusal wrote nothing: the parameter is still the first run's only version.
        assert_eq!(fake.parameter(NAME).map(|p| p.history.len()), Some(1));
        assert_eq!(current(&fake), Some(first.record()));
        // check_free refuses the same way, and only reads.
        let before = fake.mutating_calls().len();
        assert!(matches!(
            check_free(&*parameters, "shop", 1_100).await,
            Err(LeaseError::Held { .. })
        ));
        assert_eq!(fake.mutating_calls().len(), before);
        first.release().await.expect("release");
        assert!(fake.parameter(NAME).is_none());
        check_free(&*parameters, "shop", 1_100)
            .await
            .expect("free again");
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_its_run_can_no_longer_renew_or_release_it() {
        let (fake, parameters) = fake();
        let crashed = Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("alice@a", "up"),
            TTL,
            1_000,
        )
        .await
        .expect("free lease");
        // Still live one second before expiry; expired at it.
        assert!(matches!(
            Lease::acquire(
                parameters.clone(),
                "shop",
                &claimant("bob@b", "up"),
                TTL,
                1_599
            )
            .await,
            Err(LeaseError::Held { .. })
        ));
        let taker = Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("bob@b", "up"),
            TTL,
            1_600,
        )
        .await
        .expect("expired lease taken over");
        assert_eq!(current(&fake).map(|r| r.owner), Some("bob@b".to_string()));
        // The stalled run wakes up: its renewal reports the taker and writes nothing, and its
        // release leaves the taker's lease alone.
        let versions = fake.parameter(NAME).map(|p| p.history.len());
        let Err(LeaseError::Lost { holder, .. }) = crashed.renew(1_700).await else {
            panic!("a taken-over lease cannot be renewed");
        };
        assert!(holder.describe().contains("bob@b"));
        crashed.release().await.expect("release");
        assert_eq!(fake.parameter(NAME).map(|p| p.history.len()), versions);
        assert_eq!(current(&fake), Some(taker.record()));
    }

    #[tokio::test]
    async fn of_two_runs_taking_over_one_expired_lease_only_the_first_writer_holds_it() {
        let (fake, parameters) = fake();
        Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("alice@a", "up"),
            TTL,
            1_000,
        )
        .await
        .expect("free lease");
        // Carol's takeover lands between Bob's read of the expired lease and Bob's write.
        let carol = LeaseRecord {
            owner: "carol@c".into(),
            pid: 7,
            command: "down".into(),
            started: format_time(2_000),
            expires: format_time(2_600),
            token: "carol".into(),
        };
        let carol_value = serde_json::to_string(&carol).expect("json");
        fake.race_parameter(NAME, &carol_value);
        let bob = Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("bob@b", "up"),
            TTL,
            2_000,
        )
        .await;
        let Err(err @ LeaseError::Held { .. }) = bob else {
            panic!("Bob's write was not the one after the version he read: he must back off");
        };
        assert!(
            err.to_string()
                .contains("carol@c (pid 7) running `deployer down`"),
            "{err}"
        );
        // Bob put Carol's record back over his own: the parameter names the holder.
        assert_eq!(current(&fake), Some(carol));
    }

    #[tokio::test]
    async fn renewal_moves_the_expiry_so_the_lease_is_never_taken_over_while_its_run_lives() {
        let (fake, parameters) = fake();
        let lease = Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("alice@a", "up"),
            TTL,
            1_000,
        )
        .await
        .expect("free lease");
        lease.renew(1_500).await.expect("renew");
        assert_eq!(lease.record().expires, format_time(2_100));
        assert_eq!(current(&fake), Some(lease.record()));
        // Past the first expiry, within the renewed one: still held.
        assert!(matches!(
            Lease::acquire(
                parameters.clone(),
                "shop",
                &claimant("bob@b", "up"),
                TTL,
                1_700
            )
            .await,
            Err(LeaseError::Held { .. })
        ));
        // Removed behind its back (`deployer unlock`): renewal says so rather than recreate.
        fake.ports().parameters.delete(NAME).await.expect("delete");
        assert!(matches!(
            lease.renew(1_800).await,
            Err(LeaseError::Lost { .. })
        ));
    }

    #[tokio::test]
    async fn the_lease_is_released_when_the_work_fails_and_kept_from_a_second_writer_meanwhile() {
        let (fake, parameters) = fake();
        let inside = parameters.clone();
        let result: Result<(), LeaseError> = with_lease(parameters.clone(), "shop", "up", async {
            // While the work runs the lease is held: another writer is refused.
            assert!(matches!(
                check_free(&*inside, "shop", now()).await,
                Err(LeaseError::Held { .. })
            ));
            Err(DeployError::state("queue", "injected failure").into())
        })
        .await;
        assert!(matches!(result, Err(LeaseError::Aws(_))), "{result:?}");
        assert!(fake.parameter(NAME).is_none(), "released after the failure");
        // A held lease refuses with_lease before the work runs.
        Lease::acquire(
            parameters.clone(),
            "shop",
            &claimant("alice@a", "up"),
            TTL,
            now(),
        )
        .await
        .expect("free lease");
        let mut ran = false;
        let refused: Result<(), LeaseError> = with_lease(parameters, "shop", "down", async {
            ran = true;
            Ok(())
        })
        .await;
        assert!(matches!(refused, Err(LeaseError::Held { .. })));
        assert!(!ran);
    }

    #[test]
    fn an_unreadable_lease_never_expires_by_itself() {
        assert!(!Found::parse("not json").expired(i64::MAX));
        let record = LeaseRecord {
            owner: "a@b".into(),
            pid: 1,
            command: "up".into(),
            started: "x".into(),
            expires: "garbage".into(),
            token: "t".into(),
        };
        assert!(!record.expired(i64::MAX));
    }
}
