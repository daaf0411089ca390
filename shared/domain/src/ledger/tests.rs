//! The state machine, event by event: every legal move and every refused one.

use super::*;
use proptest::prelude::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
}

fn claim(now: i64) -> LedgerEvent {
    LedgerEvent::Claim {
        now: t(now),
        lease_until: t(now + 60),
        max_attempts: 3,
    }
}

fn fail(retryable: bool) -> LedgerEvent {
    LedgerEvent::Fail(Failure {
        retryable,
        reason: "x".into(),
        systemic: false,
    })
}

fn confirm() -> LedgerEvent {
    LedgerEvent::Confirm {
        fusion_refs: vec![FusionRef::processed_id(1)],
    }
}

#[test]
fn happy_path_and_versions() {
    let e = LedgerEntry::pending();
    let e = e.apply(claim(0)).unwrap();
    assert_eq!((e.state, e.attempts, e.version), (SyncState::InFlight, 1, 1));
    let e = e.apply(confirm()).unwrap();
    assert_eq!((e.state, e.version), (SyncState::Synced, 2));
    assert_eq!(e.fusion_refs, vec![FusionRef::processed_id(1)]);
}

#[test]
fn transition_table() {
    use SyncState::*;
    let at = |state, attempts, retryable: Option<bool>, lease: Option<i64>| LedgerEntry {
        state,
        attempts,
        lease_until: lease.map(t),
        failure: retryable.map(|r| Failure {
            retryable: r,
            reason: "x".into(),
            systemic: false,
        }),
        fusion_refs: vec![],
        version: 7,
    };
    let cases: Vec<(LedgerEntry, LedgerEvent, Option<SyncState>)> = vec![
        (at(PendingSync, 0, None, None), claim(0), Some(InFlight)),
        (at(PendingSync, 0, None, None), confirm(), None),
        (at(PendingSync, 0, None, None), fail(true), None),
        (at(InFlight, 1, None, Some(60)), claim(10), None),
        (at(InFlight, 1, None, Some(60)), claim(60), Some(InFlight)),
        (at(InFlight, 3, None, Some(60)), claim(60), None),
        (
            at(InFlight, 3, None, Some(60)),
            LedgerEvent::Escalate { reason: "r".into() },
            Some(ManualReview),
        ),
        (at(InFlight, 1, None, Some(60)), fail(true), Some(SyncFailed)),
        (at(InFlight, 1, None, Some(60)), confirm(), Some(Synced)),
        (at(SyncFailed, 1, Some(true), None), claim(0), Some(InFlight)),
        (at(SyncFailed, 3, Some(true), None), claim(0), None),
        (at(SyncFailed, 1, Some(false), None), claim(0), None),
        (
            at(SyncFailed, 1, Some(false), None),
            LedgerEvent::Escalate { reason: "r".into() },
            Some(ManualReview),
        ),
        (at(SyncFailed, 1, Some(true), None), confirm(), None),
        (at(Synced, 1, None, None), claim(999), None),
        (at(Synced, 1, None, None), fail(false), None),
        (
            at(Synced, 1, None, None),
            LedgerEvent::Escalate { reason: "r".into() },
            None,
        ),
        (at(ManualReview, 1, Some(false), None), claim(0), None),
        (at(InFlight, 1, None, Some(60)), accept(), Some(Accepted)),
        (at(PendingSync, 0, None, None), accept(), None),
        (at(Accepted, 1, None, None), confirm(), Some(Synced)),
        (at(Accepted, 1, None, None), fail(false), Some(SyncFailed)),
        (at(Accepted, 1, None, None), claim(999), None),
        (at(Accepted, 1, None, None), accept(), None),
        (at(Accepted, 1, None, None), LedgerEvent::Release, None),
        (
            at(Accepted, 1, None, None),
            LedgerEvent::Escalate { reason: "r".into() },
            None,
        ),
        (at(InFlight, 1, None, Some(60)), LedgerEvent::Release, Some(PendingSync)),
        (at(SyncFailed, 1, Some(true), None), LedgerEvent::Release, None),
        (at(Synced, 1, None, None), accept(), None),
    ];
    for (entry, event, want) in cases {
        let label = format!("{:?} + {:?}", entry.state, event);
        match (entry.apply(event), want) {
            (Ok(next), Some(state)) => {
                assert_eq!(next.state, state, "{label}");
                assert_eq!(next.version, 8, "{label}");
            }
            (Err(e), None) => assert!(e.to_string().contains("illegal ledger transition"), "{label}: {e}"),
            (got, want) => panic!("{label}: got {got:?}, want {want:?}"),
        }
    }
}

fn accept() -> LedgerEvent {
    LedgerEvent::Accept {
        fusion_refs: vec![FusionRef::Staged(7)],
    }
}

#[test]
fn an_accepted_row_is_unsettled_until_fusion_processes_it() {
    let e = LedgerEntry::pending().apply(claim(0)).unwrap().apply(accept()).unwrap();
    assert_eq!(e.state, SyncState::Accepted);
    assert!(e.state.is_unsettled() && !e.state.is_terminal());
    assert_eq!(e.lease_until, None);
    assert_eq!(e.fusion_refs[0].staged_interface_id(), Some(7));
    assert_eq!(FusionRef::processed_id(900100).staged_interface_id(), None);
    let done = e.apply(confirm()).unwrap();
    assert_eq!(done.state, SyncState::Synced);
}

#[test]
fn a_released_claim_does_not_count_as_an_attempt() {
    let e = LedgerEntry::pending().apply(claim(0)).unwrap();
    let e = e.apply(LedgerEvent::Release).unwrap();
    assert_eq!((e.state, e.attempts, e.lease_until), (SyncState::PendingSync, 0, None));
    let mut e = e;
    for i in 0..10 {
        e = e.apply(claim(i * 100)).unwrap().apply(LedgerEvent::Release).unwrap();
    }
    assert!(e.claimable(t(5000), 3), "systemic releases never exhaust the attempts");
}

#[test]
fn a_reclaimed_row_must_be_looked_up_before_reposting() {
    let e = LedgerEntry::pending().apply(claim(0)).unwrap();
    assert!(!e.must_look_up_before_post());
    let e = e.apply(claim(61)).unwrap();
    assert!(e.must_look_up_before_post());
    assert_eq!(e.attempts, 2);
}

#[test]
fn a_claim_that_keeps_crashing_is_abandoned_at_the_cap() {
    let mut e = LedgerEntry::pending().apply(claim(0)).unwrap();
    e = e.apply(claim(61)).unwrap();
    e = e.apply(claim(122)).unwrap();
    assert_eq!(e.attempts, 3);
    assert!(!e.is_abandoned(t(150), 3), "lease still live");
    assert!(e.is_abandoned(t(183), 3));
    assert!(e.apply(claim(183)).is_err());
}

#[test]
fn state_names_round_trip() {
    for s in SyncState::ALL {
        assert_eq!(SyncState::parse(s.as_str()).ok(), Some(s));
    }
    assert!(SyncState::parse("done").is_err());
}

#[test]
fn an_operator_retry_sends_a_failed_or_reviewed_row_back_to_pending_and_keeps_the_lookup() {
    let failed = LedgerEntry::pending()
        .apply(claim(0))
        .unwrap()
        .apply(fail(false))
        .unwrap()
        .apply(LedgerEvent::Escalate { reason: "bad".into() })
        .unwrap();
    assert_eq!(failed.state, SyncState::ManualReview);
    let retried = failed.apply(LedgerEvent::OperatorRetry { by: "ops@x".into() }).unwrap();
    assert_eq!((retried.state, retried.attempts), (SyncState::PendingSync, 1));
    assert!(retried.failure.as_ref().unwrap().reason.contains("ops@x"));
    let reclaimed = retried.apply(claim(10)).unwrap();
    assert!(
        reclaimed.must_look_up_before_post(),
        "an earlier attempt may have landed"
    );
    assert!(LedgerEntry::pending()
        .apply(LedgerEvent::OperatorRetry { by: "ops".into() })
        .is_err());
}

#[test]
fn handled_outside_is_terminal_and_says_who_and_why() {
    let failed = LedgerEntry::pending()
        .apply(claim(0))
        .unwrap()
        .apply(fail(true))
        .unwrap();
    let closed = failed
        .apply(LedgerEvent::HandledOutside {
            by: "ops".into(),
            reason: "keyed in Fusion".into(),
        })
        .unwrap();
    assert_eq!(closed.state, SyncState::HandledOutside);
    assert!(closed.state.is_terminal() && !closed.state.is_unsettled());
    assert!(closed.failure.unwrap().reason.contains("keyed in Fusion"));
    let synced = LedgerEntry::pending()
        .apply(claim(0))
        .unwrap()
        .apply(confirm())
        .unwrap();
    assert!(synced.apply(LedgerEvent::OperatorRetry { by: "ops".into() }).is_err());
}

fn baseline() -> LedgerEvent {
    LedgerEvent::Baseline {
        plan: "BL-DC01-20261201T050000Z".into(),
    }
}

#[test]
fn a_pending_failed_or_reviewed_row_can_be_baselined_and_then_never_moves() {
    let pending = LedgerEntry::pending();
    let failed = pending.apply(claim(0)).unwrap().apply(fail(false)).unwrap();
    let reviewed = failed.apply(LedgerEvent::Escalate { reason: "r".into() }).unwrap();
    for row in [pending, failed, reviewed] {
        let b = row.apply(baseline()).unwrap();
        assert_eq!(b.state, SyncState::Baselined);
        assert_eq!(b.version, row.version + 1);
        assert!(b.state.is_terminal() && !b.state.is_unsettled());
        assert_eq!(
            FusionRef::wms_reference(&b.fusion_refs),
            "baseline:BL-DC01-20261201T050000Z"
        );
        for ev in [
            claim(10_000),
            confirm(),
            accept(),
            fail(true),
            LedgerEvent::Release,
            baseline(),
        ] {
            assert!(b.apply(ev).is_err(), "a baselined row moved");
        }
        assert!(b.apply(LedgerEvent::OperatorRetry { by: "ops".into() }).is_err());
    }
}

#[test]
fn a_row_in_fusion_or_on_its_way_cannot_be_baselined() {
    let in_flight = LedgerEntry::pending().apply(claim(0)).unwrap();
    let accepted = in_flight.apply(accept()).unwrap();
    let synced = in_flight.apply(confirm()).unwrap();
    for row in [in_flight, accepted, synced] {
        assert!(row.apply(baseline()).is_err(), "{} was baselined", row.state);
    }
}

#[test]
fn a_transaction_first_seen_at_cut_over_is_recorded_baselined() {
    let e = LedgerEntry::baselined("BL-X");
    assert_eq!(e.state, SyncState::Baselined);
    assert_eq!(e.version, 0);
    assert_eq!(FusionRef::wms_reference(&e.fusion_refs), "baseline:BL-X");
    assert_eq!(SyncState::parse("baselined").unwrap(), SyncState::Baselined);
}

fn any_event() -> impl Strategy<Value = LedgerEvent> {
    prop_oneof![
        (0i64..1000).prop_map(claim),
        any::<bool>().prop_map(fail),
        Just(confirm()),
        Just(accept()),
        Just(LedgerEvent::Release),
        Just(LedgerEvent::Escalate { reason: "r".into() }),
        Just(baseline()),
    ]
}

proptest! {
    #[test]
    fn no_sequence_of_events_moves_a_synced_row(events in prop::collection::vec(any_event(), 0..40)) {
        let mut e = LedgerEntry::pending();
        let mut synced: Option<LedgerEntry> = None;
        for ev in events {
            if let Ok(next) = e.apply(ev) {
                prop_assert!(synced.is_none(), "a synced row moved");
                prop_assert_eq!(next.version, e.version + 1);
                e = next;
                if e.state.is_terminal() && e.state != SyncState::ManualReview {
                    synced = Some(e.clone());
                }
            }
        }
        if let Some(s) = synced {
            prop_assert_eq!(s, e);
        }
    }

    #[test]
    fn attempts_never_exceed_the_cap_from_fresh_claims(events in prop::collection::vec(any_event(), 0..60)) {
        let mut e = LedgerEntry::pending();
        // A release undoes its claim's attempt (a systemic failure, not this row's), so
        // the cap bounds the claims that were not released.
        let mut fresh_claims = 0u32;
        for ev in events {
            let was = e.state;
            if let Ok(next) = e.apply(ev.clone()) {
                if matches!(ev, LedgerEvent::Claim { .. }) && was != SyncState::InFlight {
                    fresh_claims += 1;
                }
                if matches!(ev, LedgerEvent::Release) {
                    fresh_claims -= 1;
                }
                e = next;
            }
        }
        prop_assert!(fresh_claims <= 3);
        prop_assert!(e.attempts >= fresh_claims);
        prop_assert!(e.attempts <= 3);
    }
}
