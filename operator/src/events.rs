//! Publishing the events [`decision`](crate::decision) decided, in the background: they must
//! never hold up status writes. Each passes the fence of the leader [`Term`] they were decided
//! in; once one is refused, the rest are dropped.

use k8s_openapi::api::core::v1::Service;
use kube::Resource;
use kube::runtime::events::{Event, Recorder};

use crate::decision::ServiceEvent;
use crate::status_patch::CALL_TIMEOUT;
use crate::term::Term;

/// Publishes `events` about `svc` in a task of its own, in order.
pub fn publish(recorder: &Recorder, term: &Term, svc: &Service, events: Vec<ServiceEvent>) {
    if events.is_empty() {
        return;
    }
    let recorder = recorder.clone();
    let reference = svc.object_ref(&());
    let key = crate::service::key(svc);
    let term = term.clone();
    tokio::spawn(async move {
        for e in events {
            let event = Event {
                type_: e.type_,
                reason: e.reason.to_owned(),
                note: Some(e.note),
                action: "Allocate".to_owned(),
                secondary: None,
            };
            let action = format!("publishing event {} on Service {key}", e.reason);
            match term
                .call(&action, CALL_TIMEOUT, recorder.publish(&event, &reference))
                .await
            {
                Ok(()) => {}
                Err(err) if err.refusal().is_some() => {
                    tracing::debug!("dropped: {err}");
                    return;
                }
                Err(err) => tracing::debug!("{err}"),
            }
        }
    });
}
