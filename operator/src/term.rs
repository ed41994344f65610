//! Leader terms, and the fence every write of the operator passes.
//!
//! A term begins when this replica acquires the leader Lease and lasts while its renewals
//! succeed. Each successful renewal lets the term write until `window` after that renewal was
//! sent; the window is the election's renew deadline, shorter than the Lease duration, and a
//! standby counts the duration from when it sees the renewal (later than it was sent), so the
//! leader stops writing before anyone else may start. A term whose window closed is over for
//! good: a later renewal begins a new term. Every write carries the term it was decided in and
//! is refused once that term is over or another has begun, so a write queued under an old term
//! never lands, however long the process was paused. [`Tenure`] holds the rules and takes the
//! time as an argument; [`Fence`] shares one between the elector and the writers, and a [`Term`]
//! is what a writer holds; [`Term::call`] runs one API call under the fence, failing with
//! [`Error::Refused`] when the term may not write.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;

/// Which term: numbered from 1, growing with each term this replica begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TermId(pub u64);

impl fmt::Display for TermId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leader term {}", self.0)
    }
}

/// Why a write of a term may not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The term ended and no other has begun: this replica does not lead.
    Ended { term: TermId },
    /// The term ended and a newer one has begun; the newer term decides afresh.
    Superseded { term: TermId, current: TermId },
    /// The term's last renewal is older than the window: a standby may take over soon.
    Lapsed {
        term: TermId,
        since_renewal: Duration,
        window: Duration,
    },
}

impl Refusal {
    /// The term refused.
    pub fn term(&self) -> TermId {
        match self {
            Refusal::Ended { term }
            | Refusal::Superseded { term, .. }
            | Refusal::Lapsed { term, .. } => *term,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Ended { term } => write!(f, "{term} is over"),
            Refusal::Superseded { term, current } => {
                write!(f, "{term} is over and {current} has begun")
            }
            Refusal::Lapsed {
                term,
                since_renewal,
                window,
            } => write!(
                f,
                "{term} is over: the leader Lease was last renewed {:.1}s ago, and writes stop {:.1}s after a renewal",
                since_renewal.as_secs_f64(),
                window.as_secs_f64()
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Current {
    id: TermId,
    renewed: Instant,
}

/// The terms of one replica, as pure rules over the instants they are given.
#[derive(Clone, Debug)]
pub struct Tenure {
    window: Duration,
    last: TermId,
    current: Option<Current>,
}

impl Tenure {
    /// No term yet; each renewal lets the term write for `window`.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            last: TermId(0),
            current: None,
        }
    }

    /// A renewal (or acquisition) of the Lease sent at `sent` succeeded, learnt at `now`:
    /// extends the current term if its window is still open at `now`, else begins a new term.
    pub fn renewed(&mut self, sent: Instant, now: Instant) -> TermId {
        match &mut self.current {
            Some(current) if now < current.renewed + self.window => {
                current.renewed = current.renewed.max(sent);
                current.id
            }
            _ => {
                self.last = TermId(self.last.0 + 1);
                self.current = Some(Current {
                    id: self.last,
                    renewed: sent,
                });
                self.last
            }
        }
    }

    /// Ends the current term (the Lease is lost, vacated, or held by another).
    pub fn end(&mut self) {
        self.current = None;
    }

    /// The term that may write at `now`, if any.
    pub fn leading(&self, now: Instant) -> Option<TermId> {
        self.current
            .filter(|c| now < c.renewed + self.window)
            .map(|c| c.id)
    }

    /// When the current term stops writing unless it is renewed first.
    pub fn deadline(&self) -> Option<Instant> {
        self.current.map(|c| c.renewed + self.window)
    }

    /// Whether a write decided in `term` may start at `now`; if so, the instant by which it
    /// must be done.
    pub fn admit(&self, term: TermId, now: Instant) -> Result<Instant, Refusal> {
        let Some(current) = self.current else {
            return Err(Refusal::Ended { term });
        };
        if current.id != term {
            return Err(Refusal::Superseded {
                term,
                current: current.id,
            });
        }
        let deadline = current.renewed + self.window;
        if now >= deadline {
            return Err(Refusal::Lapsed {
                term,
                since_renewal: now.saturating_duration_since(current.renewed),
                window: self.window,
            });
        }
        Ok(deadline)
    }
}

/// One [`Tenure`] shared by the elector, which renews and ends terms, and the writers, which
/// ask it before every write.
#[derive(Debug)]
pub struct Fence(Mutex<Tenure>);

impl Fence {
    pub fn new(window: Duration) -> Arc<Self> {
        Arc::new(Self(Mutex::new(Tenure::new(window))))
    }

    fn tenure(&self) -> std::sync::MutexGuard<'_, Tenure> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// See [`Tenure::renewed`], learnt now.
    pub fn renewed(&self, sent: Instant) -> TermId {
        self.tenure().renewed(sent, Instant::now())
    }

    pub fn end(&self) {
        self.tenure().end();
    }

    /// The term that may write now, if any.
    pub fn leading(&self) -> Option<TermId> {
        self.tenure().leading(Instant::now())
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.tenure().deadline()
    }

    /// See [`Tenure::admit`], now.
    pub fn admit(&self, term: TermId) -> Result<Instant, Refusal> {
        self.tenure().admit(term, Instant::now())
    }
}

/// A term as its writers hold it: which one, and the fence that says whether it still writes.
#[derive(Clone, Debug)]
pub struct Term {
    id: TermId,
    fence: Arc<Fence>,
}

impl PartialEq for Term {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && Arc::ptr_eq(&self.fence, &other.fence)
    }
}

impl Term {
    pub fn new(id: TermId, fence: Arc<Fence>) -> Self {
        Self { id, fence }
    }

    pub fn id(&self) -> TermId {
        self.id
    }

    /// Whether this term may write now; if so, the instant by which the write must be done.
    pub fn admit(&self) -> Result<Instant, Refusal> {
        self.fence.admit(self.id)
    }

    /// Runs one API call of this term, `action` naming it and its object for errors: not
    /// started if the term may not write now, and given up after `limit` or at the end of the
    /// term's window, whichever comes first.
    pub async fn call<T>(
        &self,
        action: &str,
        limit: Duration,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> crate::Result<T> {
        let deadline = self.admit().map_err(|refusal| Error::Refused {
            action: action.to_owned(),
            refusal,
        })?;
        let started = Instant::now();
        let until = deadline.min(started + limit);
        match tokio::time::timeout_at(until, call).await {
            Err(_) => Err(Error::Timeout {
                action: action.to_owned(),
                waited: until.duration_since(started),
            }),
            Ok(r) => r.map_err(|source| Error::Api {
                action: action.to_owned(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
