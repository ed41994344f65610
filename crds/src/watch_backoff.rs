//! How ferrolb's watches retry when the API server fails them. kube-runtime's default backs off
//! up to 30 s, so after an API server restart a component could stay blind for half a minute;
//! a load balancer wants to be back within a couple of seconds, and a few watches retrying
//! every 2 s cost the API server nothing. The backoff starts again from its minimum once a
//! watch has run for 30 s without failing.

use std::time::Duration;

use kube::runtime::utils::ResetTimerBackoff;
use kube::runtime::watcher::ExponentialBackoff;

/// The first retry's delay and the longest before jitter (each delay gets up to as much again
/// at random, so two speakers' watches do not retry in step), and how long a watch must run
/// without failing before the delays start again from the first.
pub const FIRST_RETRY: Duration = Duration::from_millis(250);
pub const LONGEST_RETRY: Duration = Duration::from_secs(1);
pub const RESET_AFTER: Duration = Duration::from_secs(30);

/// The backoff of every watch of the operator and the webhook.
pub fn watch_backoff() -> ResetTimerBackoff<ExponentialBackoff> {
    let delays = backon::ExponentialBuilder::default()
        .with_min_delay(FIRST_RETRY)
        .with_max_delay(LONGEST_RETRY)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    ResetTimerBackoff::new(ExponentialBackoff::from(delays), RESET_AFTER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_grow_from_a_quarter_second_to_one_and_never_wait_more_than_two_seconds() {
        let delays: Vec<Duration> = watch_backoff().take(12).collect();
        assert_eq!(delays.len(), 12, "a watch retries for ever");
        assert!(delays[0] <= FIRST_RETRY * 2, "{delays:?}");
        assert!(delays.iter().all(|d| *d <= LONGEST_RETRY * 2), "{delays:?}");
        assert!(delays[11] >= LONGEST_RETRY, "{delays:?}");
    }
}
