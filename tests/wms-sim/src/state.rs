//! In-memory WMS state: per-DC balances, outbox, reservations and holds, and the rules that
//! capture transactions and record sync outcomes. Every operation validates fully before it
//! mutates anything, so a refusal never changes state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use chrono::{NaiveDate, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use sim_seed::{Control, Item, SeedConfig};

use crate::error::ApiError;
use crate::model::{
    BalanceRow, Hold, HoldRequest, LotLine, LotRef, NewTransaction, OutcomeRequest, Page, ReleaseRequest, ReleasedHold,
    Reservation, ReservationSummary, Transaction, TxKind, TxStatus,
};

/// Subinventory codes in their sort order; balance keys store the index.
pub const SUBINVENTORIES: [&str; 4] = ["BULK", "PICK", "RETURNS", "STORES"];

/// Largest page a client may ask for.
pub const MAX_LIMIT: usize = 5000;
/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 500;

pub(crate) fn sub_index(code: &str) -> Option<u8> {
    SUBINVENTORIES.iter().position(|s| *s == code).map(|i| i as u8)
}

pub(crate) fn sub_code(index: u8) -> &'static str {
    SUBINVENTORIES.get(index as usize).copied().unwrap_or("?")
}

/// Balance key: (item index, subinventory index, lot number); its order is the paging order.
pub(crate) type Key = (u32, u8, Option<String>);

/// One on-hand row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub quantity: Decimal,
    pub expiration: Option<NaiveDate>,
    pub serials: BTreeSet<String>,
}

/// The immutable item master plus the DC list.
#[derive(Debug)]
pub(crate) struct Master {
    pub items: Vec<Item>,
    pub by_number: HashMap<String, u32>,
    pub dcs: Vec<String>,
    pub today: NaiveDate,
}

impl Master {
    pub fn item(&self, number: &str, field: &str) -> Result<(u32, &Item), ApiError> {
        self.by_number
            .get(number)
            .and_then(|&i| self.items.get(i as usize).map(|it| (i, it)))
            .ok_or_else(|| ApiError::unknown_item(number, field))
    }
}

#[derive(Debug, Default)]
pub(crate) struct HoldEntry {
    pub active: Option<Hold>,
    pub last_released: Option<ReleasedHold>,
}

/// One distribution center.
#[derive(Debug)]
pub(crate) struct Dc {
    pub code: String,
    pub balances: BTreeMap<Key, Row>,
    pub lot_expirations: HashMap<(u32, String), NaiveDate>,
    pub transactions: HashMap<String, Transaction>,
    pub outbox: BTreeMap<u64, String>,
    pub reservations: BTreeMap<u64, Reservation>,
    pub holds: BTreeMap<String, HoldEntry>,
    pub next_sequence: u64,
    pub rng: ChaCha8Rng,
    pub minted: u64,
}

/// All state: the item master and one lock per DC.
#[derive(Debug)]
pub(crate) struct Store {
    pub master: Master,
    pub dcs: Vec<Mutex<Dc>>,
    pub picker: Mutex<ChaCha8Rng>,
}

impl Store {
    /// Seeds every DC from `sim_seed::generate(cfg)`.
    pub fn seed(cfg: &SeedConfig) -> Self {
        let catalog = sim_seed::generate(cfg);
        let by_number = catalog
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.number.clone(), i as u32))
            .collect();
        let mut dcs: Vec<Dc> = catalog
            .orgs
            .iter()
            .enumerate()
            .map(|(i, o)| Dc {
                code: o.code.clone(),
                balances: BTreeMap::new(),
                lot_expirations: HashMap::new(),
                transactions: HashMap::new(),
                outbox: BTreeMap::new(),
                reservations: BTreeMap::new(),
                holds: BTreeMap::new(),
                next_sequence: 1,
                rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0xA11C_E000 ^ ((i as u64 + 1) << 32)),
                minted: 0,
            })
            .collect();
        for b in catalog.balances {
            let Some(dc) = dcs.get_mut(b.org) else {
                continue;
            };
            let sub = sub_index(&b.subinventory).unwrap_or(0);
            let (lot, expiration) = match b.lot {
                Some(l) => {
                    dc.lot_expirations
                        .insert((b.item as u32, l.number.clone()), l.expiration);
                    (Some(l.number), Some(l.expiration))
                }
                None => (None, None),
            };
            let row = dc.balances.entry((b.item as u32, sub, lot)).or_default();
            row.quantity += b.quantity;
            row.expiration = expiration;
            row.serials.extend(b.serials);
        }
        let dc_codes = dcs.iter().map(|d| d.code.clone()).collect();
        Store {
            master: Master {
                items: catalog.items,
                by_number,
                dcs: dc_codes,
                today: cfg.today,
            },
            dcs: dcs.into_iter().map(Mutex::new).collect(),
            picker: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0D15_7A7C)),
        }
    }

    /// Locks one DC by code; 404 `unknown_dc` if there is none.
    pub fn dc(&self, code: &str) -> Result<MutexGuard<'_, Dc>, ApiError> {
        let index = self
            .master
            .dcs
            .iter()
            .position(|c| c == code)
            .ok_or_else(|| ApiError::unknown_dc(code))?;
        self.dc_at(index).ok_or_else(|| ApiError::unknown_dc(code))
    }

    /// Locks DC number `index` (0-based).
    pub fn dc_at(&self, index: usize) -> Option<MutexGuard<'_, Dc>> {
        self.dcs
            .get(index)
            .map(|m| m.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// Parses a strict decimal string: optional `-`, digits, optional `.digits`.
pub(crate) fn parse_decimal(text: &str, field: &str) -> Result<Decimal, ApiError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let frac = parts.next();
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    let bad = || {
        ApiError::bad_request(
            "invalid_quantity",
            format!("{text:?} is not a decimal string like \"12.500\" or \"-3\""),
        )
        .at(field)
    };
    if !ok {
        return Err(bad());
    }
    Decimal::from_str(text).map_err(|_| bad())
}

/// Checks `q` fits the item's UOM scale and returns it at exactly that scale.
pub(crate) fn at_scale(q: Decimal, item: &Item, field: &str) -> Result<Decimal, ApiError> {
    if q.normalize().scale() > item.scale {
        return Err(ApiError::unprocessable(
            "too_many_decimals",
            format!(
                "{q} has more decimals than UOM {} of {} allows ({})",
                item.uom, item.number, item.scale
            ),
        )
        .at(field));
    }
    let mut q = q.normalize();
    q.rescale(item.scale);
    Ok(q)
}

struct Change {
    key: Key,
    delta: Decimal,
    expiration: Option<NaiveDate>,
    add_serials: Vec<String>,
    remove_serials: Vec<String>,
}

/// Result of a capture: the transaction and whether it was new (201) or a replay (200).
#[derive(Debug, Clone)]
pub struct Captured {
    /// The stored transaction.
    pub transaction: Transaction,
    /// `false` when an identical transaction with the same client id already existed.
    pub created: bool,
}

fn valid_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn same_request(existing: &Transaction, new: &NewTransaction) -> bool {
    let qty = |s: &str| parse_decimal(s, "").ok().map(|d| d.normalize());
    let mut lots_new: Vec<(String, Option<Decimal>)> =
        new.lots.iter().map(|l| (l.lot.clone(), qty(&l.quantity))).collect();
    lots_new.sort();
    let mut lots_old: Vec<(String, Option<Decimal>)> = existing
        .lots
        .iter()
        .map(|l| (l.lot.clone(), Some(l.quantity.normalize())))
        .collect();
    lots_old.sort();
    let serials_new: BTreeSet<&String> = new.serials.iter().collect();
    let serials_old: BTreeSet<&String> = existing.serials.iter().collect();
    existing.kind.as_str() == new.kind
        && existing.item == new.item
        && existing.subinventory == new.subinventory
        && existing.to_subinventory == new.to_subinventory
        && Some(existing.quantity.normalize()) == qty(&new.quantity)
        && existing.uom == new.uom
        && lots_old == lots_new
        && serials_old == serials_new
        && serials_new.len() == new.serials.len()
}

impl Dc {
    /// Validates and applies a WMS transaction: on-hand changes at once, the transaction enters
    /// the outbox as `pending_sync` and a reservation is held.
    pub fn capture(&mut self, master: &Master, input: NewTransaction) -> Result<Captured, ApiError> {
        if let Some(id) = &input.id {
            if !valid_client_id(id) {
                return Err(ApiError::unprocessable(
                    "invalid_id",
                    "id must be 1-64 characters of letters, digits, '-', '_', '.', ':'",
                )
                .at("id"));
            }
            if let Some(existing) = self.transactions.get(id) {
                if same_request(existing, &input) {
                    return Ok(Captured {
                        transaction: existing.clone(),
                        created: false,
                    });
                }
                return Err(ApiError::conflict(
                    "duplicate_transaction_id",
                    format!("transaction {id} already exists with different content"),
                )
                .at("id"));
            }
        }
        let kind = TxKind::parse(&input.kind).ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_kind",
                format!(
                    "kind {:?} is not adjustment, misc_receipt, misc_issue or subinventory_transfer",
                    input.kind
                ),
            )
            .at("kind")
        })?;
        let (item_index, item) = master.item(&input.item, "item")?;
        let sub = sub_index(&input.subinventory).ok_or_else(|| {
            ApiError::unprocessable(
                "unknown_subinventory",
                format!("no subinventory {:?} (known: {SUBINVENTORIES:?})", input.subinventory),
            )
            .at("subinventory")
        })?;
        let to_sub = match (kind, &input.to_subinventory) {
            (TxKind::SubinventoryTransfer, None) => {
                return Err(ApiError::unprocessable(
                    "to_subinventory_required",
                    "a subinventory_transfer needs to_subinventory",
                )
                .at("to_subinventory"))
            }
            (TxKind::SubinventoryTransfer, Some(to)) => {
                let to_index = sub_index(to).ok_or_else(|| {
                    ApiError::unprocessable(
                        "unknown_subinventory",
                        format!("no subinventory {to:?} (known: {SUBINVENTORIES:?})"),
                    )
                    .at("to_subinventory")
                })?;
                if to_index == sub {
                    return Err(ApiError::unprocessable(
                        "same_subinventory",
                        "a transfer must move to a different subinventory",
                    )
                    .at("to_subinventory"));
                }
                Some(to_index)
            }
            (_, Some(_)) => {
                return Err(ApiError::unprocessable(
                    "to_subinventory_not_allowed",
                    "to_subinventory is only allowed on subinventory_transfer",
                )
                .at("to_subinventory"))
            }
            (_, None) => None,
        };
        let quantity = parse_decimal(&input.quantity, "quantity")?;
        let sign_ok = match kind {
            TxKind::MiscIssue => quantity < Decimal::ZERO,
            TxKind::MiscReceipt | TxKind::SubinventoryTransfer => quantity > Decimal::ZERO,
            TxKind::Adjustment => !quantity.is_zero(),
        };
        if !sign_ok {
            let rule = match kind {
                TxKind::MiscIssue => "negative",
                TxKind::MiscReceipt | TxKind::SubinventoryTransfer => "positive",
                TxKind::Adjustment => "non-zero",
            };
            return Err(ApiError::unprocessable(
                "invalid_quantity_sign",
                format!("{} quantity must be {rule}, got {quantity}", kind.as_str()),
            )
            .at("quantity"));
        }
        let quantity = at_scale(quantity, item, "quantity")?;
        if input.uom != item.uom {
            return Err(ApiError::unprocessable(
                "uom_mismatch",
                format!("{} is stocked in {}, not {:?}", item.number, item.uom, input.uom),
            )
            .at("uom"));
        }
        let magnitude = quantity.abs();
        let increasing = quantity > Decimal::ZERO && kind != TxKind::SubinventoryTransfer;

        let mut lot_lines: Vec<LotLine> = Vec::new();
        match item.control {
            Control::Lot => {
                if input.lots.is_empty() {
                    return Err(ApiError::unprocessable(
                        "lots_required",
                        format!("{} is lot-controlled: name the lots", item.number),
                    )
                    .at("lots"));
                }
                let mut sum = Decimal::ZERO;
                let mut seen = BTreeSet::new();
                for (i, l) in input.lots.iter().enumerate() {
                    let field = format!("lots[{i}]");
                    if l.lot.trim().is_empty() {
                        return Err(
                            ApiError::unprocessable("invalid_lot", "lot number is empty").at(format!("{field}.lot"))
                        );
                    }
                    if !seen.insert(l.lot.as_str()) {
                        return Err(
                            ApiError::unprocessable("duplicate_lot", format!("lot {} appears twice", l.lot))
                                .at(format!("{field}.lot")),
                        );
                    }
                    let q = parse_decimal(&l.quantity, &format!("{field}.quantity"))?;
                    if q <= Decimal::ZERO {
                        return Err(ApiError::unprocessable(
                            "invalid_quantity_sign",
                            "lot quantities are absolute and must be positive",
                        )
                        .at(format!("{field}.quantity")));
                    }
                    let q = at_scale(q, item, &format!("{field}.quantity"))?;
                    sum += q;
                    let known = self.lot_expirations.get(&(item_index, l.lot.clone())).copied();
                    let expiration = match (known, l.expiration) {
                        (Some(k), Some(given)) if k != given => {
                            return Err(ApiError::unprocessable(
                                "lot_expiration_mismatch",
                                format!("lot {} expires {k}, not {given}", l.lot),
                            )
                            .at(format!("{field}.expiration")))
                        }
                        (Some(k), _) => k,
                        (None, Some(given)) if increasing => given,
                        (None, None) if increasing => {
                            return Err(ApiError::unprocessable(
                                "lot_expiration_required",
                                format!("lot {} is new to this DC: give its expiration", l.lot),
                            )
                            .at(format!("{field}.expiration")))
                        }
                        (None, _) => {
                            return Err(ApiError::conflict(
                                "insufficient_onhand",
                                format!("lot {} of {} is not on hand", l.lot, item.number),
                            )
                            .at(format!("{field}.lot")))
                        }
                    };
                    lot_lines.push(LotLine {
                        lot: l.lot.clone(),
                        quantity: q,
                        expiration,
                    });
                }
                if sum != magnitude {
                    return Err(ApiError::unprocessable(
                        "lot_quantity_mismatch",
                        format!("lot quantities sum to {sum}, transaction quantity is {magnitude}"),
                    )
                    .at("lots"));
                }
            }
            Control::Plain | Control::Serial => {
                if !input.lots.is_empty() {
                    return Err(ApiError::unprocessable(
                        "lots_not_allowed",
                        format!("{} is not lot-controlled", item.number),
                    )
                    .at("lots"));
                }
            }
        }
        match item.control {
            Control::Serial => {
                if input.serials.is_empty() {
                    return Err(ApiError::unprocessable(
                        "serials_required",
                        format!("{} is serial-controlled: list one serial per unit", item.number),
                    )
                    .at("serials"));
                }
                if Decimal::from(input.serials.len() as u64) != magnitude {
                    return Err(ApiError::unprocessable(
                        "serial_count_mismatch",
                        format!("{} serials for a quantity of {magnitude}", input.serials.len()),
                    )
                    .at("serials"));
                }
                let mut seen = BTreeSet::new();
                for (i, s) in input.serials.iter().enumerate() {
                    if s.trim().is_empty() {
                        return Err(
                            ApiError::unprocessable("invalid_serial", "serial is empty").at(format!("serials[{i}]"))
                        );
                    }
                    if !seen.insert(s.as_str()) {
                        return Err(
                            ApiError::unprocessable("duplicate_serial", format!("serial {s} appears twice"))
                                .at(format!("serials[{i}]")),
                        );
                    }
                }
            }
            Control::Plain | Control::Lot => {
                if !input.serials.is_empty() {
                    return Err(ApiError::unprocessable(
                        "serials_not_allowed",
                        format!("{} is not serial-controlled", item.number),
                    )
                    .at("serials"));
                }
            }
        }

        let mut changes = Vec::new();
        let key_for = |s: u8, lot: Option<&str>| -> Key { (item_index, s, lot.map(str::to_string)) };
        let lines: Vec<(Option<&str>, Decimal, Option<NaiveDate>)> = if lot_lines.is_empty() {
            vec![(None, magnitude, None)]
        } else {
            lot_lines
                .iter()
                .map(|l| (Some(l.lot.as_str()), l.quantity, Some(l.expiration)))
                .collect()
        };
        let serials = input.serials.clone();
        let decrease_from = match kind {
            TxKind::MiscIssue | TxKind::SubinventoryTransfer => Some(sub),
            TxKind::Adjustment if quantity < Decimal::ZERO => Some(sub),
            _ => None,
        };
        let increase_at = match kind {
            TxKind::SubinventoryTransfer => to_sub,
            TxKind::MiscReceipt => Some(sub),
            TxKind::Adjustment if quantity > Decimal::ZERO => Some(sub),
            _ => None,
        };
        if let Some(s) = decrease_from {
            for (i, (lot, q, exp)) in lines.iter().enumerate() {
                let key = key_for(s, *lot);
                let row = self.balances.get(&key);
                let on_hand = row.map(|r| r.quantity).unwrap_or_default();
                if on_hand < *q {
                    let field = if lot.is_some() {
                        format!("lots[{i}].quantity")
                    } else {
                        "quantity".into()
                    };
                    return Err(ApiError::conflict(
                        "insufficient_onhand",
                        format!(
                            "{} in {} {}has {on_hand} on hand, cannot take {q}",
                            item.number,
                            sub_code(s),
                            lot.map(|l| format!("lot {l} ")).unwrap_or_default()
                        ),
                    )
                    .at(field));
                }
                if !serials.is_empty() {
                    for (j, sn) in serials.iter().enumerate() {
                        if !row.is_some_and(|r| r.serials.contains(sn)) {
                            return Err(ApiError::conflict(
                                "serial_not_on_hand",
                                format!("serial {sn} of {} is not on hand in {}", item.number, sub_code(s)),
                            )
                            .at(format!("serials[{j}]")));
                        }
                    }
                }
                changes.push(Change {
                    key,
                    delta: -*q,
                    expiration: *exp,
                    add_serials: Vec::new(),
                    remove_serials: serials.clone(),
                });
            }
        }
        if let Some(s) = increase_at {
            if decrease_from.is_none() && !serials.is_empty() {
                let range = (item_index, 0u8, None)..(item_index + 1, 0u8, None);
                for (_, row) in self.balances.range(range) {
                    if let Some((j, sn)) = serials.iter().enumerate().find(|(_, sn)| row.serials.contains(*sn)) {
                        return Err(ApiError::conflict(
                            "serial_already_on_hand",
                            format!("serial {sn} of {} is already on hand", item.number),
                        )
                        .at(format!("serials[{j}]")));
                    }
                }
            }
            for (lot, q, exp) in &lines {
                changes.push(Change {
                    key: key_for(s, *lot),
                    delta: *q,
                    expiration: *exp,
                    add_serials: serials.clone(),
                    remove_serials: Vec::new(),
                });
            }
        }

        for c in changes {
            let row = self.balances.entry(c.key).or_default();
            row.quantity += c.delta;
            if c.expiration.is_some() {
                row.expiration = c.expiration;
            }
            for s in &c.remove_serials {
                row.serials.remove(s);
            }
            row.serials.extend(c.add_serials);
        }
        for l in &lot_lines {
            self.lot_expirations.insert((item_index, l.lot.clone()), l.expiration);
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let id = input
            .id
            .clone()
            .unwrap_or_else(|| format!("{}-{sequence:09}", self.code));
        let transaction = Transaction {
            id: id.clone(),
            sequence,
            kind,
            item: item.number.clone(),
            subinventory: sub_code(sub).to_string(),
            to_subinventory: to_sub.map(|t| sub_code(t).to_string()),
            quantity,
            uom: item.uom.clone(),
            lots: lot_lines,
            serials: input.serials,
            occurred_at: input.occurred_at.unwrap_or_else(Utc::now),
            status: TxStatus::PendingSync,
            last_error: None,
            fusion_reference: None,
        };
        self.outbox.insert(sequence, id.clone());
        self.reservations.insert(
            sequence,
            Reservation {
                transaction_id: id.clone(),
                item: item.number.clone(),
                quantity,
            },
        );
        self.transactions.insert(id, transaction.clone());
        Ok(Captured {
            transaction,
            created: true,
        })
    }

    /// Records invsync's outcome for one transaction (idempotent; see the contract).
    pub fn outcome(&mut self, id: &str, req: &OutcomeRequest) -> Result<Transaction, ApiError> {
        let tx = self.transactions.get(id).ok_or_else(|| {
            ApiError::not_found("unknown_transaction", format!("no transaction {id:?} at {}", self.code)).at("id")
        })?;
        let nonempty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        match req.status.as_str() {
            "synced" => {
                if req.error.is_some() {
                    return Err(
                        ApiError::unprocessable("field_not_allowed", "error is only allowed with sync_failed")
                            .at("error"),
                    );
                }
                if !nonempty(&req.fusion_reference) {
                    return Err(ApiError::unprocessable(
                        "fusion_reference_required",
                        "synced needs a fusion_reference",
                    )
                    .at("fusion_reference"));
                }
                if tx.status == TxStatus::Synced {
                    if tx.fusion_reference == req.fusion_reference {
                        return Ok(tx.clone());
                    }
                    return Err(ApiError::conflict(
                        "conflicting_outcome",
                        format!(
                            "{id} was already synced with fusion_reference {:?}",
                            tx.fusion_reference.as_deref().unwrap_or_default()
                        ),
                    )
                    .at("fusion_reference"));
                }
                let sequence = tx.sequence;
                let tx = self
                    .transactions
                    .get_mut(id)
                    .ok_or_else(|| ApiError::not_found("unknown_transaction", id.to_string()))?;
                tx.status = TxStatus::Synced;
                tx.fusion_reference = req.fusion_reference.clone();
                self.outbox.remove(&sequence);
                self.reservations.remove(&sequence);
                Ok(tx.clone())
            }
            "sync_failed" => {
                if req.fusion_reference.is_some() {
                    return Err(ApiError::unprocessable(
                        "field_not_allowed",
                        "fusion_reference is only allowed with synced",
                    )
                    .at("fusion_reference"));
                }
                if !nonempty(&req.error) {
                    return Err(
                        ApiError::unprocessable("error_required", "sync_failed needs an error text").at("error"),
                    );
                }
                if tx.status == TxStatus::Synced {
                    return Err(ApiError::conflict(
                        "conflicting_outcome",
                        format!("{id} was already synced; it cannot fail afterwards"),
                    )
                    .at("status"));
                }
                let tx = self
                    .transactions
                    .get_mut(id)
                    .ok_or_else(|| ApiError::not_found("unknown_transaction", id.to_string()))?;
                tx.status = TxStatus::SyncFailed;
                tx.last_error = req.error.clone();
                Ok(tx.clone())
            }
            other => Err(ApiError::unprocessable(
                "invalid_status",
                format!("status {other:?} is not synced or sync_failed"),
            )
            .at("status")),
        }
    }

    /// Places a hold (idempotent: an active hold is kept as is). Returns the hold and whether
    /// it was created.
    pub fn place_hold(&mut self, master: &Master, item: &str, req: &HoldRequest) -> Result<(Hold, bool), ApiError> {
        master.item(item, "item")?;
        if req.reason.trim().is_empty() {
            return Err(ApiError::unprocessable("reason_required", "a hold needs a reason").at("reason"));
        }
        if req.placed_by.trim().is_empty() {
            return Err(ApiError::unprocessable("placed_by_required", "a hold needs placed_by").at("placed_by"));
        }
        let entry = self.holds.entry(item.to_string()).or_default();
        if let Some(h) = &entry.active {
            return Ok((h.clone(), false));
        }
        let hold = Hold {
            item: item.to_string(),
            reason: req.reason.clone(),
            placed_by: req.placed_by.clone(),
            placed_at: Utc::now(),
            reference: req.reference.clone(),
        };
        entry.active = Some(hold.clone());
        Ok((hold, true))
    }

    /// Releases the active hold; releasing an already released hold returns the earlier release.
    pub fn release_hold(
        &mut self,
        master: &Master,
        item: &str,
        req: &ReleaseRequest,
    ) -> Result<ReleasedHold, ApiError> {
        master.item(item, "item")?;
        if req.released_by.trim().is_empty() {
            return Err(
                ApiError::unprocessable("released_by_required", "a release needs released_by").at("released_by"),
            );
        }
        let entry = self.holds.get_mut(item).ok_or_else(|| {
            ApiError::not_found("no_hold", format!("{item} has never been held at {}", self.code)).at("item")
        })?;
        if let Some(h) = entry.active.take() {
            let released = ReleasedHold {
                item: h.item,
                reason: h.reason,
                placed_by: h.placed_by,
                placed_at: h.placed_at,
                reference: h.reference,
                released_by: req.released_by.clone(),
                released_at: Utc::now(),
                release_reason: req.reason.clone(),
            };
            entry.last_released = Some(released.clone());
            return Ok(released);
        }
        entry
            .last_released
            .clone()
            .ok_or_else(|| ApiError::not_found("no_hold", format!("{item} has no hold at {}", self.code)).at("item"))
    }

    /// Active holds, by item.
    pub fn active_holds(&self) -> Vec<Hold> {
        self.holds.values().filter_map(|e| e.active.clone()).collect()
    }

    /// Reservations in sequence order.
    pub fn reservation_summary(&self) -> ReservationSummary {
        let items: Vec<Reservation> = self.reservations.values().cloned().collect();
        ReservationSummary {
            count: items.len(),
            items,
        }
    }

    pub fn row_to_wire(master: &Master, key: &Key, row: &Row) -> BalanceRow {
        let item = master.items.get(key.0 as usize);
        BalanceRow {
            item: item.map(|i| i.number.clone()).unwrap_or_default(),
            subinventory: sub_code(key.1).to_string(),
            lot: key.2.as_ref().map(|n| LotRef {
                number: n.clone(),
                expiration: row.expiration.unwrap_or(master.today),
            }),
            serials: row.serials.iter().cloned().collect(),
            quantity: row.quantity,
            uom: item.map(|i| i.uom.clone()).unwrap_or_default(),
        }
    }

    /// One page of balances after `cursor`, in key order.
    pub fn balances_page(
        &self,
        master: &Master,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<BalanceRow>, ApiError> {
        let start = match cursor {
            Some(c) => Bound::Excluded(decode_balance_cursor(c)?),
            None => Bound::Unbounded,
        };
        let mut items = Vec::with_capacity(limit.min(MAX_LIMIT));
        let mut last = None;
        let mut more = false;
        for (key, row) in self.balances.range((start, Bound::Unbounded)) {
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(Self::row_to_wire(master, key, row));
            last = Some(key);
        }
        Ok(Page {
            items,
            next_cursor: if more { last.map(encode_balance_cursor) } else { None },
        })
    }

    /// One page of the outbox after `cursor`, in sequence order.
    pub fn outbox_page(&self, limit: usize, cursor: Option<&str>) -> Result<Page<Transaction>, ApiError> {
        let start = match cursor {
            Some(c) => Bound::Excluded(decode_outbox_cursor(c)?),
            None => Bound::Unbounded,
        };
        let mut items = Vec::new();
        let mut last = None;
        let mut more = false;
        for (seq, id) in self.outbox.range((start, Bound::Unbounded)) {
            if items.len() == limit {
                more = true;
                break;
            }
            if let Some(tx) = self.transactions.get(id) {
                items.push(tx.clone());
            }
            last = Some(*seq);
        }
        Ok(Page {
            items,
            next_cursor: if more {
                last.map(|s| hex(&format!("o1|{s}")))
            } else {
                None
            },
        })
    }

    /// Outbox entries (pending, failed).
    pub fn outbox_counts(&self) -> (usize, usize) {
        let failed = self
            .outbox
            .values()
            .filter(|id| {
                self.transactions
                    .get(*id)
                    .is_some_and(|t| t.status == TxStatus::SyncFailed)
            })
            .count();
        (self.outbox.len() - failed, failed)
    }
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<String> {
    if s.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request("invalid_cursor", "cursor was not issued by this endpoint").at("cursor")
}

fn encode_balance_cursor(key: &Key) -> String {
    hex(&format!(
        "b1|{}|{}|{}",
        key.0,
        key.1,
        key.2.as_deref().map(|l| format!("+{l}")).unwrap_or_default()
    ))
}

fn decode_balance_cursor(c: &str) -> Result<Key, ApiError> {
    let text = unhex(c).ok_or_else(invalid_cursor)?;
    let mut parts = text.splitn(4, '|');
    if parts.next() != Some("b1") {
        return Err(invalid_cursor());
    }
    let item = parts
        .next()
        .and_then(|p| p.parse::<u32>().ok())
        .ok_or_else(invalid_cursor)?;
    let sub = parts
        .next()
        .and_then(|p| p.parse::<u8>().ok())
        .ok_or_else(invalid_cursor)?;
    let lot = match parts.next() {
        Some("") => None,
        Some(l) => Some(l.strip_prefix('+').ok_or_else(invalid_cursor)?.to_string()),
        None => return Err(invalid_cursor()),
    };
    Ok((item, sub, lot))
}

fn decode_outbox_cursor(c: &str) -> Result<u64, ApiError> {
    unhex(c)
        .and_then(|t| t.strip_prefix("o1|").and_then(|s| s.parse().ok()))
        .ok_or_else(invalid_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_cursors_round_trip_and_foreign_cursors_are_refused() {
        for key in [(0u32, 0u8, None), (49_999, 3, Some("L049999-01|x".to_string()))] {
            assert_eq!(decode_balance_cursor(&encode_balance_cursor(&key)).unwrap(), key);
        }
        assert_eq!(decode_balance_cursor("zz").unwrap_err().code, "invalid_cursor");
        assert_eq!(
            decode_outbox_cursor(&encode_balance_cursor(&(1, 1, None)))
                .unwrap_err()
                .code,
            "invalid_cursor"
        );
    }

    #[test]
    fn only_plain_decimal_strings_are_quantities() {
        for ok in ["0", "-3", "12.500", "007"] {
            assert!(parse_decimal(ok, "q").is_ok(), "{ok}");
        }
        for bad in ["", "-", "1.", ".5", "+1", "1e3", "1_000", " 1", "NaN", "1.2.3"] {
            assert_eq!(parse_decimal(bad, "q").unwrap_err().code, "invalid_quantity", "{bad}");
        }
    }
}
