//! Moving DC statuses through the port (on the testkit's table, which has the DynamoDB
//! adapter's condition): the go-live path, refusals, and two people moving one DC at once.

use chrono::Utc;
use domain::golive::{declare_dc_live, move_dc, DcStatus, DcStatusChange, MoveError, OutboxWatermark};
use domain::ports::DcStatusBoard;
use futures::executor::block_on;
use testkit::build::{dc, user};
use testkit::InMemoryDcStatus;

fn change(to: DcStatus, reason: Option<&str>) -> DcStatusChange {
    DcStatusChange {
        to,
        by: user("ann"),
        at: Utc::now(),
        reason: reason.map(str::to_string),
        watermark: Some(OutboxWatermark(41)),
    }
}

#[test]
fn maintenance_and_back_are_conditional_writes_and_a_refused_move_changes_nothing() {
    let board = InMemoryDcStatus::new();
    let dc1 = dc("DC01");
    let live = block_on(declare_dc_live(
        &board,
        &dc1,
        user("run-local"),
        Utc::now(),
        "simulator",
    ))
    .unwrap();
    assert_eq!((live.status, live.version), (DcStatus::Live, 1));

    let refused = block_on(move_dc(&board, &dc1, change(DcStatus::Maintenance, None))).unwrap_err();
    assert!(matches!(refused, MoveError::Refused(_)), "{refused}");
    assert!(refused.to_string().contains("needs a reason"), "{refused}");
    assert_eq!(board.status_of(&dc1), DcStatus::Live);

    let m = block_on(move_dc(
        &board,
        &dc1,
        change(DcStatus::Maintenance, Some("WMS upgrade")),
    ))
    .unwrap();
    assert_eq!(
        (m.status, m.version, m.reason.as_deref()),
        (DcStatus::Maintenance, 2, Some("WMS upgrade"))
    );
    let back = block_on(move_dc(&board, &dc1, change(DcStatus::Live, None))).unwrap();
    assert_eq!((back.status, back.version), (DcStatus::Live, 3));
    assert!(block_on(declare_dc_live(&board, &dc1, user("x"), Utc::now(), "again")).is_err());
}

#[test]
fn of_two_moves_from_the_same_read_one_wins_and_the_other_is_a_conflict() {
    let board = InMemoryDcStatus::all_live(&[dc("DC02")], Utc::now());
    let read = block_on(board.get(&dc("DC02"))).unwrap().unwrap();
    let a = read.apply(change(DcStatus::Maintenance, Some("a"))).unwrap();
    let b = read.apply(change(DcStatus::Maintenance, Some("b"))).unwrap();
    block_on(board.put(&a, read.version)).unwrap();
    assert!(block_on(board.put(&b, read.version)).is_err());
    // Through move_dc the loser sees a conflict only if the row moved between its read and
    // write; a fresh call reads the new version and is checked against the new status.
    let again = block_on(move_dc(&board, &dc("DC02"), change(DcStatus::Maintenance, Some("b")))).unwrap_err();
    assert!(matches!(again, MoveError::Refused(_)), "{again}");
}
