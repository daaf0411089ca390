//! Wire types of the WMS contract (`docs/wms-api.openapi.yaml`) and of the simulator's admin API.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a WMS transaction does to on-hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// Cycle-count or other correction; quantity of either sign, never zero.
    Adjustment,
    /// Miscellaneous receipt; quantity positive.
    MiscReceipt,
    /// Miscellaneous issue (picks); quantity negative.
    MiscIssue,
    /// Move from `subinventory` to `to_subinventory`; quantity positive.
    SubinventoryTransfer,
}

impl TxKind {
    /// Parses the wire name (`misc_issue`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "adjustment" => Some(Self::Adjustment),
            "misc_receipt" => Some(Self::MiscReceipt),
            "misc_issue" => Some(Self::MiscIssue),
            "subinventory_transfer" => Some(Self::SubinventoryTransfer),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adjustment => "adjustment",
            Self::MiscReceipt => "misc_receipt",
            Self::MiscIssue => "misc_issue",
            Self::SubinventoryTransfer => "subinventory_transfer",
        }
    }
}

/// Sync status of a WMS transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// Captured, waiting for invsync; in the outbox with a reservation.
    PendingSync,
    /// invsync reported a failure; still in the outbox, reservation kept.
    SyncFailed,
    /// invsync reported success; out of the outbox, reservation released.
    Synced,
}

/// One lot line of a lot-controlled transaction; `quantity` is always positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotLine {
    /// WMS lot number.
    pub lot: String,
    /// Absolute quantity moved in this lot (item's primary UOM).
    pub quantity: Decimal,
    /// Lot expiration date.
    pub expiration: NaiveDate,
}

/// A WMS transaction as the outbox and the capture endpoint return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// Stable WMS id, the idempotency key end to end (e.g. `DC01-000000123`).
    pub id: String,
    /// Per-DC WMS sequence number, strictly increasing in capture order.
    pub sequence: u64,
    /// What the transaction does.
    pub kind: TxKind,
    /// Item number.
    pub item: String,
    /// Subinventory affected (the source for transfers).
    pub subinventory: String,
    /// Destination subinventory of a transfer, otherwise `None`.
    pub to_subinventory: Option<String>,
    /// Signed quantity in the item's primary UOM, at the UOM's scale.
    pub quantity: Decimal,
    /// Item's primary UOM code.
    pub uom: String,
    /// Lot lines (lot-controlled items only).
    pub lots: Vec<LotLine>,
    /// Serial numbers (serial-controlled items only); one per unit.
    pub serials: Vec<String>,
    /// When the WMS applied it.
    pub occurred_at: DateTime<Utc>,
    /// Sync status.
    pub status: TxStatus,
    /// Error text of the last `sync_failed` outcome.
    pub last_error: Option<String>,
    /// Fusion reference of the `synced` outcome.
    pub fusion_reference: Option<String>,
}

/// Body of `POST /v1/dcs/{dc}/transactions`: a transaction to capture. Quantities are decimal
/// strings; they are checked by the WMS rules, not by serde.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTransaction {
    /// Optional client id for idempotent capture; assigned by the WMS when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `adjustment`, `misc_receipt`, `misc_issue` or `subinventory_transfer`.
    pub kind: String,
    /// Item number.
    pub item: String,
    /// Subinventory (source of a transfer).
    pub subinventory: String,
    /// Destination subinventory, transfers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_subinventory: Option<String>,
    /// Signed decimal string.
    pub quantity: String,
    /// Must equal the item's primary UOM.
    pub uom: String,
    /// Lot lines; required for lot-controlled items, forbidden otherwise.
    #[serde(default)]
    pub lots: Vec<NewLotLine>,
    /// Serials; required for serial-controlled items, forbidden otherwise.
    #[serde(default)]
    pub serials: Vec<String>,
    /// Defaults to the capture time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A lot line of a [`NewTransaction`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLotLine {
    /// Lot number.
    pub lot: String,
    /// Positive decimal string.
    pub quantity: String,
    /// Required for a lot the DC has never seen; must match the known date otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<NaiveDate>,
}

/// A lot reference on a balance row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotRef {
    /// Lot number.
    pub number: String,
    /// Expiration date.
    pub expiration: NaiveDate,
}

/// One on-hand row: DC / item / subinventory / lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    /// Item number.
    pub item: String,
    /// Subinventory code.
    pub subinventory: String,
    /// Lot, for lot-controlled items.
    pub lot: Option<LotRef>,
    /// Serials on hand, sorted (serial-controlled items only).
    pub serials: Vec<String>,
    /// On-hand quantity (never negative).
    pub quantity: Decimal,
    /// Primary UOM.
    pub uom: String,
}

/// A cursor-paged collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page's rows.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Body of `POST .../transactions/{id}/outcome`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// `synced` or `sync_failed`.
    pub status: String,
    /// Required with `synced`: the Fusion reference of the posted transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fusion_reference: Option<String>,
    /// Required with `sync_failed`: why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Body of `PUT /v1/dcs/{dc}/holds/{item}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    /// Why order releases are held.
    pub reason: String,
    /// Who placed it (e.g. `invsync`).
    pub placed_by: String,
    /// Incident or alert reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// Body of `POST /v1/dcs/{dc}/holds/{item}/release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The person releasing the hold.
    pub released_by: String,
    /// Why it is released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An active hold on order releases for one item at one DC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Item number.
    pub item: String,
    /// Why it was placed.
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Incident reference, if given.
    pub reference: Option<String>,
}

/// A hold after its release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedHold {
    /// Item number.
    pub item: String,
    /// Why it was placed.
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Incident reference, if given.
    pub reference: Option<String>,
    /// Who released it.
    pub released_by: String,
    /// When it was released.
    pub released_at: DateTime<Utc>,
    /// Why it was released.
    pub release_reason: Option<String>,
}

/// One reservation: held from capture until a `synced` outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    /// The transaction holding it.
    pub transaction_id: String,
    /// Item number.
    pub item: String,
    /// The transaction's signed quantity.
    pub quantity: Decimal,
}

/// `GET /v1/dcs/{dc}/reservations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationSummary {
    /// Number of reservations held.
    pub count: usize,
    /// The reservations, in WMS sequence order.
    pub items: Vec<Reservation>,
}

/// Body of `POST /admin/drift`: a silent on-hand change that never reaches the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftRequest {
    /// DC code.
    pub dc: String,
    /// Item number.
    pub item: String,
    /// Subinventory code.
    pub subinventory: String,
    /// Lot number (lot-controlled items only).
    #[serde(default)]
    pub lot: Option<String>,
    /// Signed non-zero decimal string; the row may not go below zero.
    pub delta: String,
    /// Expiration for a lot the DC has never seen (defaults to 365 days after the seed date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<NaiveDate>,
}

/// Size band of a drift, on `|delta|` (matching the reconciliation tiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftBand {
    /// `|delta| < 5` (1..=4 here).
    Small,
    /// `5 <= |delta| <= 50`.
    Medium,
    /// `|delta| > 50` (51..=200 here).
    Large,
}

/// Exactly what one drift changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedDrift {
    /// DC code.
    pub dc: String,
    /// Item number.
    pub item: String,
    /// Subinventory code.
    pub subinventory: String,
    /// Lot number, for lot-controlled items.
    pub lot: Option<String>,
    /// Signed change applied.
    pub delta: Decimal,
    /// On-hand before.
    pub quantity_before: Decimal,
    /// On-hand after (`quantity_before + delta`).
    pub quantity_after: Decimal,
    /// Serials that appeared (serial items, positive delta).
    pub serials_added: Vec<String>,
    /// Serials that vanished (serial items, negative delta).
    pub serials_removed: Vec<String>,
    /// Band, when chosen by the band helper.
    pub band: Option<DriftBand>,
}

/// Body of `POST /admin/drift/bands`: pick distinct SKUs and drift them by band.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftBandsRequest {
    /// One DC, or `None` to spread over all DCs.
    #[serde(default)]
    pub dc: Option<String>,
    /// How many keys get `|delta| < 5`.
    #[serde(default)]
    pub small: usize,
    /// How many keys get `5 <= |delta| <= 50`.
    #[serde(default)]
    pub medium: usize,
    /// How many keys get `|delta| > 50`.
    #[serde(default)]
    pub large: usize,
    /// Seed for the choice; the same seed on the same state picks the same keys.
    #[serde(default)]
    pub seed: u64,
}

/// Body of `POST /admin/activity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    /// One DC, or `None` for a random DC per transaction.
    #[serde(default)]
    pub dc: Option<String>,
    /// Transactions to generate now (at most 100,000).
    pub count: usize,
}

/// Per-DC counters from `GET /admin/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DcSummary {
    /// DC code.
    pub dc: String,
    /// Balance rows.
    pub balances: usize,
    /// Outbox entries in `pending_sync`.
    pub outbox_pending: usize,
    /// Outbox entries in `sync_failed`.
    pub outbox_failed: usize,
    /// Reservations held.
    pub reservations: usize,
    /// Active holds.
    pub holds: usize,
    /// Transactions captured so far (all statuses).
    pub transactions: usize,
}

/// One scripted failure: the next `count` calls to `endpoint` answer `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailNext {
    /// Endpoint name as in `/admin/stats`, e.g. `POST outcome`.
    pub endpoint: String,
    /// HTTP status to answer (4xx/5xx).
    pub status: u16,
    /// How many calls fail.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// Fault injection for `/v1` endpoints (`PUT /admin/faults`); a failed call changes nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Delay added to every `/v1` call.
    #[serde(default)]
    pub latency_ms: u64,
    /// Probability (0..=1) that a `/v1` call answers 500 `injected_fault`.
    #[serde(default)]
    pub error_500_rate: f64,
    /// Scripted failures, consumed in order per endpoint.
    #[serde(default)]
    pub fail_next: Vec<FailNext>,
}
