//! What a baseline is made of: its id, its lines (absolute balances with what Fusion held at
//! plan time), the plan's header and summary, and the chunk rows its apply checkpoints.

use crate::console::UserId;
use crate::error::DomainError;
use crate::golive::OutboxWatermark;
use crate::ids::{DcCode, ItemNumber, LotNumber, SerialNumber, SubinventoryCode, Uom};
use crate::ports::BalanceLine;
use crate::txn::LotQuantity;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A baseline plan's id: `BL-<dc>-<created_at as %Y%m%dT%H%M%SZ>`, so a DC's plans sort by
/// time and the id says which DC it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanId(String);

impl PlanId {
    /// The id of the plan of `dc` taken at `at` (to the second).
    pub fn new(dc: &DcCode, at: DateTime<Utc>) -> Self {
        PlanId(format!("BL-{dc}-{}", at.format("%Y%m%dT%H%M%SZ")))
    }

    /// Parses a stored or typed id (`BL-` prefix, at most 80 characters, no spaces).
    pub fn parse(s: impl Into<String>) -> Result<Self, DomainError> {
        let s = s.into();
        let ok = s.starts_with("BL-")
            && s.len() <= 80
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(PlanId(s))
        } else {
            Err(DomainError::InvalidId {
                kind: "baseline plan id",
                value: crate::error::quote(&s),
                reason: "must start with BL- and hold only letters, digits, '-', '_' or '.' (80 at most)".into(),
            })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PlanId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(s)
    }
}

impl From<PlanId> for String {
    fn from(id: PlanId) -> String {
        id.0
    }
}

/// How an item is tracked in Fusion (its item master in the DC's organization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemClass {
    /// Neither lot- nor serial-controlled.
    Plain,
    /// Lot-controlled.
    Lot,
    /// Serial-controlled.
    Serial,
    /// Lot- and serial-controlled.
    LotSerial,
}

impl ItemClass {
    /// From the item master's flags.
    pub fn of(lot_controlled: bool, serial_controlled: bool) -> Self {
        match (lot_controlled, serial_controlled) {
            (false, false) => ItemClass::Plain,
            (true, false) => ItemClass::Lot,
            (false, true) => ItemClass::Serial,
            (true, true) => ItemClass::LotSerial,
        }
    }

    /// Stable name (`plain`, `lot`, `serial`, `lot_serial`).
    pub fn as_str(self) -> &'static str {
        match self {
            ItemClass::Plain => "plain",
            ItemClass::Lot => "lot",
            ItemClass::Serial => "serial",
            ItemClass::LotSerial => "lot_serial",
        }
    }
}

/// One lot of a [`PlanLine`]: the WMS's quantity (the target) and Fusion's at plan time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLot {
    /// The lot (WMS lot id, used as the Fusion lot number as the reconciliation does).
    pub lot: LotNumber,
    /// WMS quantity: the target.
    pub wms: Decimal,
    /// Fusion's on-hand in the lot at plan time.
    pub fusion: Decimal,
    /// Expiration (the WMS's, else Fusion's); Fusion needs it to create a lot.
    pub expiration: Option<NaiveDate>,
    /// Fusion had no on-hand in this lot at plan time: the balance creates it if Fusion does
    /// not know it.
    pub new_to_fusion: bool,
}

/// One balance line of a plan: an item in a subinventory with its absolute target (the WMS
/// balance, lots and serials included) and what Fusion held at plan time. Only lines that
/// differ are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLine {
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: SubinventoryCode,
    /// How Fusion tracks the item.
    pub class: ItemClass,
    /// Primary UOM.
    pub uom: Uom,
    /// WMS on-hand: the absolute target.
    pub target: Decimal,
    /// Fusion on-hand at plan time.
    pub fusion: Decimal,
    /// Lots (lot-controlled items): every lot either side holds, WMS quantity as target.
    pub lots: Vec<PlanLot>,
    /// Serials the WMS holds: the target set (serial-controlled items).
    pub serials: Vec<SerialNumber>,
    /// Serials the WMS holds and Fusion does not.
    pub serials_added: Vec<SerialNumber>,
    /// Serials Fusion holds and the WMS does not.
    pub serials_removed: Vec<SerialNumber>,
}

impl PlanLine {
    /// Target minus Fusion.
    pub fn difference(&self) -> Decimal {
        self.target - self.fusion
    }

    /// Whether applying the line changes anything in Fusion (quantity, a lot's quantity or a
    /// serial).
    pub fn differs(&self) -> bool {
        !self.difference().is_zero()
            || self.lots.iter().any(|l| l.wms != l.fusion)
            || !self.serials_added.is_empty()
            || !self.serials_removed.is_empty()
    }

    /// The absolute balance `inventoryBalanceTransactions` receives: the target quantity, the
    /// lots the WMS holds (non-zero), the WMS serials.
    pub fn balance_line(&self) -> BalanceLine {
        BalanceLine {
            item: self.item.clone(),
            subinventory: self.subinventory.clone(),
            quantity: self.target,
            uom: self.uom.clone(),
            lots: self
                .lots
                .iter()
                .filter(|l| !l.wms.is_zero())
                .map(|l| LotQuantity {
                    lot: l.lot.clone(),
                    quantity: l.wms,
                    expiration: l.expiration,
                })
                .collect(),
            serials: self.serials.clone(),
        }
    }
}

/// One key (item, subinventory, lot) whose quantities differ, for the plan's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDifference {
    /// Item.
    pub item: ItemNumber,
    /// Subinventory.
    pub subinventory: SubinventoryCode,
    /// Lot, for lot-controlled keys.
    pub lot: Option<LotNumber>,
    /// WMS quantity.
    pub wms: Decimal,
    /// Fusion quantity.
    pub fusion: Decimal,
    /// WMS minus Fusion.
    pub difference: Decimal,
}

/// Counts of one item class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassCounts {
    /// Balance lines (item, subinventory) of the class.
    pub lines: u64,
    /// Lines that differ (to apply).
    pub differing: u64,
    /// WMS quantity summed.
    pub wms_quantity: Decimal,
    /// Fusion quantity summed.
    pub fusion_quantity: Decimal,
}

/// Entries listed in a summary's lists; the counts always cover all of them.
pub const SUMMARY_LIST_MAX: usize = 50;

/// What a person reads before applying: counts by item class, the keys that differ most,
/// items Fusion does not know (left out of the plan), lots new to Fusion, serial differences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// WMS balance rows read.
    pub wms_rows: u64,
    /// Fusion on-hand rows read.
    pub fusion_rows: u64,
    /// Balance lines compared (item, subinventory, either side).
    pub lines_compared: u64,
    /// Lines that already match (not applied).
    pub lines_matching: u64,
    /// Lines to apply.
    pub lines_to_apply: u64,
    /// Counts by item class.
    pub by_class: std::collections::BTreeMap<ItemClass, ClassCounts>,
    /// The keys with the largest absolute difference, largest first ([`SUMMARY_LIST_MAX`]).
    pub largest_differences: Vec<KeyDifference>,
    /// Items the WMS holds that Fusion's item master does not know in the organization
    /// (first [`SUMMARY_LIST_MAX`]); their lines are left out and each gets a review task
    /// when the plan is applied.
    pub unknown_items: Vec<ItemNumber>,
    /// How many items are unknown.
    pub unknown_items_count: u64,
    /// Lines left out because their item is unknown.
    pub unknown_item_lines: u64,
    /// Lots the WMS holds that Fusion had no on-hand in (first [`SUMMARY_LIST_MAX`]).
    pub lots_to_create: Vec<(ItemNumber, LotNumber)>,
    /// How many such lots.
    pub lots_to_create_count: u64,
    /// Serials the WMS holds and Fusion does not, summed.
    pub serials_added: u64,
    /// Serials Fusion holds and the WMS does not, summed.
    pub serials_removed: u64,
    /// Net difference (WMS minus Fusion) over every line, in each line's UOM.
    pub net_difference: Decimal,
}

/// How the differences reach Fusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineMode {
    /// Absolute balances through `inventoryBalanceTransactions` (Oracle's "Synchronize
    /// Inventory Balances from 3PL/WMS"): the default.
    #[default]
    BalanceTransactions,
    /// For pods where that resource is not enabled: each key's difference as an adjustment
    /// through the sync's two-phase commit (ledger, Source* lookups), idempotent per plan and
    /// key.
    Adjustments,
}

impl BaselineMode {
    /// Stable name (`balance_transactions`, `adjustments`).
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineMode::BalanceTransactions => "balance_transactions",
            BaselineMode::Adjustments => "adjustments",
        }
    }
}

impl std::str::FromStr for BaselineMode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        match s {
            "balance_transactions" => Ok(BaselineMode::BalanceTransactions),
            "adjustments" => Ok(BaselineMode::Adjustments),
            other => Err(DomainError::InvalidId {
                kind: "baseline mode",
                value: crate::error::quote(other),
                reason: "must be balance_transactions or adjustments".into(),
            }),
        }
    }
}

/// A stored plan's header: who took it, at which watermark, how it is chunked, and its
/// summary. Its lines live in its [`ChunkRecord`]s (a DynamoDB item holds at most 400 KB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselinePlan {
    /// Id.
    pub id: PlanId,
    /// DC.
    pub dc: DcCode,
    /// The outbox watermark the WMS balances were read at.
    pub watermark: OutboxWatermark,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Who.
    pub created_by: UserId,
    /// How it is applied.
    pub mode: BaselineMode,
    /// Lines per chunk.
    pub chunk_size: u32,
    /// Chunks (`0..chunks`).
    pub chunks: u32,
    /// What a person reads.
    pub summary: PlanSummary,
}

/// Where a chunk's apply stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ChunkState {
    /// Not sent yet.
    Pending,
    /// Being sent by an invocation until `lease_until`. Found after the lease lapsed, the
    /// chunk is ambiguous (the invocation died or timed out mid-post; Fusion has no GET for
    /// balance transactions): it is decided by reading Fusion on-hand for its lines.
    Posting {
        /// The posting invocation's lease.
        lease_until: DateTime<Utc>,
    },
    /// Confirmed: every line has its outcome. Never posted again.
    Applied,
}

impl ChunkState {
    /// Stable name (`pending`, `posting`, `applied`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ChunkState::Pending => "pending",
            ChunkState::Posting { .. } => "posting",
            ChunkState::Applied => "applied",
        }
    }
}

/// The outcome of one line of an applied chunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum LineResult {
    /// Fusion took the balance (or, in adjustment mode, processed the adjustments).
    Applied,
    /// Found at its target when an ambiguous chunk was decided: not sent again.
    AlreadyAtTarget,
    /// Adjustment mode: Fusion took the adjustments into its interface and has not processed
    /// them yet (the sync's confirmation settles them).
    AwaitingFusion,
    /// Fusion refused the line (its text), or it could not be sent; a review task is open.
    Refused {
        /// Fusion's text.
        reason: String,
    },
}

/// One checkpointed chunk of a plan: its lines, its state and, once applied, an outcome per
/// line. Written with a condition on `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRecord {
    /// DC.
    pub dc: DcCode,
    /// Plan.
    pub plan: PlanId,
    /// Index, `0..plan.chunks`.
    pub index: u32,
    /// The lines.
    pub lines: Vec<PlanLine>,
    /// Where it stands.
    pub state: ChunkState,
    /// One per line once `applied`, empty before.
    pub results: Vec<LineResult>,
    /// Posts started (a resumed ambiguous chunk counts again).
    pub attempts: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Incremented on every write; a write names the version it read (0: a new row).
    pub version: u64,
}

impl ChunkRecord {
    /// Counts of the chunk's outcomes, for progress.
    pub fn progress(&self) -> ChunkProgress {
        let count = |f: fn(&LineResult) -> bool| self.results.iter().filter(|r| f(r)).count() as u64;
        ChunkProgress {
            index: self.index,
            state: self.state.as_str(),
            lines: self.lines.len() as u64,
            applied: count(|r| matches!(r, LineResult::Applied)),
            already_at_target: count(|r| matches!(r, LineResult::AlreadyAtTarget)),
            awaiting_fusion: count(|r| matches!(r, LineResult::AwaitingFusion)),
            refused: count(|r| matches!(r, LineResult::Refused { .. })),
            attempts: self.attempts,
            updated_at: self.updated_at,
        }
    }
}

/// A chunk's progress without its lines (what `status` shows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChunkProgress {
    /// Index.
    pub index: u32,
    /// `pending`, `posting` or `applied`.
    pub state: &'static str,
    /// Lines in the chunk.
    pub lines: u64,
    /// Lines applied.
    pub applied: u64,
    /// Lines found at target.
    pub already_at_target: u64,
    /// Lines waiting for Fusion's processing (adjustment mode).
    pub awaiting_fusion: u64,
    /// Lines refused.
    pub refused: u64,
    /// Posts started.
    pub attempts: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
