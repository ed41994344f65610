use super::*;

const WINDOW: Duration = Duration::from_secs(3);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

#[test]
fn no_term_writes_before_the_first_renewal() {
    let tenure = Tenure::new(WINDOW);
    let t0 = Instant::now();
    assert_eq!(tenure.leading(t0), None);
    assert_eq!(tenure.deadline(), None);
    assert_eq!(
        tenure.admit(TermId(1), t0),
        Err(Refusal::Ended { term: TermId(1) })
    );
}

#[test]
fn a_term_writes_until_the_window_after_the_renewal_was_sent() {
    let mut tenure = Tenure::new(WINDOW);
    let sent = Instant::now();
    let term = tenure.renewed(sent, sent + secs(0.4));
    assert_eq!(term, TermId(1));
    assert_eq!(tenure.admit(term, sent + secs(2.9)), Ok(sent + WINDOW));
    assert_eq!(tenure.leading(sent + secs(2.9)), Some(term));
    assert_eq!(
        tenure.admit(term, sent + WINDOW),
        Err(Refusal::Lapsed {
            term,
            since_renewal: WINDOW,
            window: WINDOW
        })
    );
    assert_eq!(tenure.leading(sent + WINDOW), None);
}

#[test]
fn renewals_within_the_window_extend_the_same_term() {
    let mut tenure = Tenure::new(WINDOW);
    let t0 = Instant::now();
    let term = tenure.renewed(t0, t0);
    assert_eq!(tenure.renewed(t0 + secs(2.0), t0 + secs(2.5)), term);
    assert_eq!(tenure.admit(term, t0 + secs(4.9)), Ok(t0 + secs(5.0)));
    // A renewal answered late but sent earlier than the last one does not shorten the term.
    assert_eq!(tenure.renewed(t0 + secs(1.0), t0 + secs(4.0)), term);
    assert_eq!(tenure.deadline(), Some(t0 + secs(5.0)));
}

#[test]
fn a_paused_leader_refuses_every_write_when_it_resumes() {
    let mut tenure = Tenure::new(WINDOW);
    let t0 = Instant::now();
    let term = tenure.renewed(t0, t0 + secs(0.01));
    // Stopped for 20 s: the first thing it does on waking is a queued write.
    let woke = t0 + secs(20.0);
    let refusal = tenure.admit(term, woke).unwrap_err();
    assert_eq!(
        refusal,
        Refusal::Lapsed {
            term,
            since_renewal: secs(20.0),
            window: WINDOW
        }
    );
    assert_eq!(
        refusal.to_string(),
        "leader term 1 is over: the leader Lease was last renewed 20.0s ago, and writes stop 3.0s after a renewal"
    );
}

#[test]
fn a_lapsed_term_never_comes_back_and_its_queued_writes_stay_refused() {
    let mut tenure = Tenure::new(WINDOW);
    let t0 = Instant::now();
    let old = tenure.renewed(t0, t0);
    // A renewal sent within the window but answered after it closed: the old term is over,
    // a new one begins, and the old term's writes are refused even though the new one writes.
    let new = tenure.renewed(t0 + secs(2.0), t0 + secs(3.5));
    assert_eq!(new, TermId(2));
    assert_eq!(tenure.admit(new, t0 + secs(3.6)), Ok(t0 + secs(5.0)));
    assert_eq!(
        tenure.admit(old, t0 + secs(3.6)),
        Err(Refusal::Superseded {
            term: old,
            current: new
        })
    );
}

#[test]
fn an_ended_term_refuses_and_the_next_acquisition_begins_a_new_one() {
    let mut tenure = Tenure::new(WINDOW);
    let t0 = Instant::now();
    let first = tenure.renewed(t0, t0);
    tenure.end();
    assert_eq!(tenure.leading(t0 + secs(0.1)), None);
    assert_eq!(
        tenure.admit(first, t0 + secs(0.1)),
        Err(Refusal::Ended { term: first })
    );
    let second = tenure.renewed(t0 + secs(1.0), t0 + secs(1.0));
    assert_eq!(second, TermId(2));
    assert_eq!(
        tenure.admit(first, t0 + secs(1.1)),
        Err(Refusal::Superseded {
            term: first,
            current: second
        })
    );
    assert!(tenure.admit(second, t0 + secs(1.1)).is_ok());
}

#[test]
fn a_renewal_answered_after_a_whole_window_begins_a_term_that_cannot_write() {
    let mut tenure = Tenure::new(WINDOW);
    let t0 = Instant::now();
    let term = tenure.renewed(t0, t0 + secs(3.2));
    assert_eq!(tenure.leading(t0 + secs(3.2)), None);
    assert!(matches!(
        tenure.admit(term, t0 + secs(3.2)),
        Err(Refusal::Lapsed { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_call_of_a_lapsed_term_is_never_started() {
    let fence = Fence::new(WINDOW);
    let id = fence.renewed(Instant::now());
    let term = Term::new(id, fence.clone());
    tokio::time::advance(secs(3.5)).await;
    let started = std::sync::atomic::AtomicBool::new(false);
    let result = term
        .call("writing Service shop/web", secs(10.0), async {
            started.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<_, kube::Error>(())
        })
        .await;
    let refused = result.unwrap_err();
    assert!(
        matches!(refused.refusal(), Some(Refusal::Lapsed { .. })),
        "{refused}"
    );
    assert!(
        refused
            .to_string()
            .starts_with("writing Service shop/web: refused: leader term 1 is over"),
        "{refused}"
    );
    assert!(!started.load(std::sync::atomic::Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn a_call_is_cut_at_the_end_of_the_window_even_if_its_limit_is_longer() {
    let fence = Fence::new(WINDOW);
    let id = fence.renewed(Instant::now());
    let term = Term::new(id, fence.clone());
    tokio::time::advance(secs(2.0)).await;
    let begun = Instant::now();
    let result = term
        .call(
            "writing Service shop/web",
            secs(10.0),
            std::future::pending::<Result<(), kube::Error>>(),
        )
        .await;
    let failed = result.unwrap_err();
    assert!(failed.refusal().is_none(), "a timeout may be retried");
    assert_eq!(
        failed.to_string(),
        "writing Service shop/web: no answer within 1.0s"
    );
    assert_eq!(begun.elapsed(), secs(1.0));
}
