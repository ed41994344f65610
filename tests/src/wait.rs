//! Waiting for the system under test to reach a state. Everything a suite waits for (an IP in
//! a Service's status, a Lease held, a BGP path at the router, an ARP reply) is asked again and
//! again until it holds, since every component converges asynchronously: a check returns
//! `Some(value)` once the state is reached, and the wait returns that value.
//!
//! There is one patience, [`PATIENCE`], long enough for a healthy system on a loaded machine;
//! a wait that runs out panics naming what it waited for. A wait bounded more tightly on
//! purpose (a gratuitous ARP within 5 s of a failover) or more loosely (a thousand Services)
//! names its own limit with a `_within` variant. The functions come in two kinds:
//! [`until`] blocks the thread (for suites driving `kubectl`), [`eventually`] is async (for
//! suites on tokio that query the API with kube-rs); the `_explained` variants add what the
//! panic should show besides, such as the end of a daemon's log.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How long a suite waits for anything a healthy system does on its own.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// How often a check is asked again.
const POLL: Duration = Duration::from_millis(100);

/// Asks `check` until it returns `Some`, blocking; panics after [`PATIENCE`].
pub fn until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    until_within(PATIENCE, what, check)
}

/// Asks `check` until it returns `Some`, blocking; panics after `limit`.
pub fn until_within<T>(limit: Duration, what: &str, check: impl FnMut() -> Option<T>) -> T {
    until_explained(limit, what, check, String::new)
}

/// As [`until_within`], with `explain`'s text in the panic message.
pub fn until_explained<T, D: Display>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    explain: impl FnOnce() -> D,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            timed_out(limit, what, explain());
        }
        std::thread::sleep(POLL);
    }
}

/// Asks `check` until it returns `Some`; panics after [`PATIENCE`].
pub async fn eventually<T, Fut>(what: &str, check: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    eventually_within(PATIENCE, what, check).await
}

/// Asks `check` until it returns `Some`; panics after `limit`.
pub async fn eventually_within<T, Fut>(limit: Duration, what: &str, check: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Option<T>>,
{
    eventually_explained(limit, what, check, String::new).await
}

/// As [`eventually_within`], with `explain`'s text in the panic message.
pub async fn eventually_explained<T, Fut, D: Display>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> Fut,
    explain: impl FnOnce() -> D,
) -> T
where
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() >= deadline {
            timed_out(limit, what, explain());
        }
        tokio::time::sleep(POLL).await;
    }
}

fn timed_out(limit: Duration, what: &str, explanation: impl Display) -> ! {
    let explanation = explanation.to_string();
    if explanation.is_empty() {
        panic!("timed out after {limit:?} waiting for {what}");
    }
    panic!("timed out after {limit:?} waiting for {what}; {explanation}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_returns_the_first_value_the_check_gives() {
        let mut asked = 0;
        let value = until_within(Duration::from_secs(5), "the third ask", || {
            asked += 1;
            (asked == 3).then_some(asked * 10)
        });
        assert_eq!(value, 30);
    }

    #[test]
    #[should_panic(expected = "timed out after 200ms waiting for nothing; the log says no")]
    fn until_panics_naming_what_it_waited_for_and_the_explanation() {
        until_explained(
            Duration::from_millis(200),
            "nothing",
            || None::<()>,
            || "the log says no",
        );
    }

    #[tokio::test]
    async fn eventually_returns_the_first_value_the_check_gives() {
        let mut asked = 0;
        let value = eventually_within(Duration::from_secs(5), "the second ask", || {
            asked += 1;
            let now = asked;
            async move { (now == 2).then_some("ready") }
        })
        .await;
        assert_eq!(value, "ready");
    }

    #[tokio::test]
    #[should_panic(expected = "timed out after 200ms waiting for nothing")]
    async fn eventually_panics_after_its_limit() {
        eventually_within(Duration::from_millis(200), "nothing", || async {
            None::<()>
        })
        .await;
    }
}
