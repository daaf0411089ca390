//! `inventoryCompletedTransactions`: completed material transactions and how a processed plan
//! becomes completed rows.

use super::*;

/// One attribute of completed rows indexed: its text values to positions in
/// `SimState::completed`.
#[derive(Debug, Clone, Default)]
pub(crate) struct AttributeIndex {
    by_text: HashMap<String, Vec<usize>>,
    /// Rows whose value is not text (a number, null, missing): compared row by row, as
    /// `matches` may equate them with a filter's text.
    other: Vec<usize>,
}

impl AttributeIndex {
    fn add(&mut self, value: Option<&Value>, at: usize) {
        match value {
            Some(Value::String(text)) => self.by_text.entry(text.clone()).or_default().push(at),
            _ => self.other.push(at),
        }
    }

    fn truncate(&mut self, len: usize) {
        for positions in self.by_text.values_mut() {
            positions.retain(|at| *at < len);
        }
        self.other.retain(|at| *at < len);
    }

    fn candidates(&self, want: &str) -> impl Iterator<Item = usize> + '_ {
        self.by_text.get(want).into_iter().flatten().chain(&self.other).copied()
    }
}

/// The attributes a Source* lookup filters by, indexed.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceIndex {
    header: AttributeIndex,
    reference: AttributeIndex,
}

impl SimState {
    pub(super) fn completed_row(&self, id: &str) -> ApiResult<&CompletedRow> {
        id.parse::<i64>()
            .ok()
            .and_then(|id| {
                // In TransactionId order (see `completed`), so a binary search finds it.
                self.completed
                    .binary_search_by_key(&id, |c| c.id)
                    .ok()
                    .and_then(|at| self.completed.get(at))
            })
            .ok_or_else(|| ApiError::not_found(format!("No transaction {id}.")))
    }

    /// Appends a completed row and indexes it.
    pub(super) fn push_completed(&mut self, row: CompletedRow) {
        let at = self.completed.len();
        self.completed_index.header.add(row.source.get("SourceHeaderId"), at);
        self.completed_index
            .reference
            .add(row.source.get("TransactionReference"), at);
        self.completed.push(row);
    }

    /// Drops the completed rows from `len` on (a failed batch rolled back) and their index
    /// entries.
    pub(super) fn truncate_completed(&mut self, len: usize) {
        if len >= self.completed.len() {
            return;
        }
        self.completed.truncate(len);
        self.completed_index.header.truncate(len);
        self.completed_index.reference.truncate(len);
    }

    /// Positions of the completed rows that may match `filters`, in order: the index's
    /// candidates when the filter names an indexed attribute, every row otherwise.
    fn completed_candidates(&self, filters: &HashMap<String, String>) -> Vec<usize> {
        let index = &self.completed_index;
        let mut at: Vec<usize> = match (filters.get("SourceHeaderId"), filters.get("TransactionReference")) {
            (Some(want), _) => index.header.candidates(want).collect(),
            (None, Some(want)) => index.reference.candidates(want).collect(),
            (None, None) => return (0..self.completed.len()).collect(),
        };
        at.sort_unstable();
        at.dedup();
        at
    }

    fn completed_lots(c: &CompletedRow) -> Vec<Value> {
        c.lots
            .iter()
            .map(|(l, q, e)| {
                json!({"LotNumber": l, "TransactionQuantity": num(*q), "LotExpirationDate": e.format("%Y-%m-%d").to_string()})
            })
            .collect()
    }

    fn completed_serials(c: &CompletedRow) -> Vec<Value> {
        c.serials
            .iter()
            .map(|s| json!({"SerialNumber": s, "FmSerialNumber": s, "ToSerialNumber": s}))
            .collect()
    }

    /// One completed transaction; children as the request's framework version shows them.
    pub(super) fn completed_json(&self, c: &CompletedRow, r: &ApiRequest, x: Expand) -> Value {
        let href = format!("{}/inventoryCompletedTransactions/{}", r.base, c.id);
        let mut m = Map::new();
        m.insert("TransactionId".into(), json!(c.id));
        m.insert("TransactionTypeName".into(), json!(c.type_name));
        m.insert("OrganizationId".into(), json!(self.orgs[c.org].id));
        m.insert("OrganizationCode".into(), json!(self.orgs[c.org].code));
        m.insert("InventoryItemId".into(), json!(self.master.items[c.item].id));
        m.insert("ItemNumber".into(), json!(self.master.items[c.item].number));
        m.insert("SubinventoryCode".into(), json!(c.sub));
        m.insert("TransferSubinventory".into(), json!(c.transfer_sub));
        m.insert("TransactionQuantity".into(), num(c.qty));
        m.insert("TransactionUnitOfMeasure".into(), json!(c.uom));
        m.insert("TransferTransactionId".into(), json!(c.transfer_id));
        m.insert("TransactionInterfaceId".into(), json!(c.interface_id));
        for (k, v) in &c.source {
            m.insert(k.clone(), v.clone());
        }
        if x.lots {
            let v = self.child_value(Self::completed_lots(c), r, x.only_data, format!("{href}/child/lots"));
            m.insert("lots".into(), v);
        }
        if x.serials {
            let v = self.child_value(
                Self::completed_serials(c),
                r,
                x.only_data,
                format!("{href}/child/serials"),
            );
            m.insert("serials".into(), v);
        }
        if !x.only_data {
            m.insert("links".into(), self_link(href, "inventoryCompletedTransactions"));
        }
        Value::Object(m)
    }

    /// Whether attribute `key` of a completed transaction equals `want` as the `q` filter
    /// compares it ([`matches`]), without allocating for the text attributes.
    fn completed_field_is(&self, c: &CompletedRow, key: &str, want: &str) -> bool {
        match c.source.get(key) {
            Some(Value::String(have)) => have == want,
            _ => {
                let v = self.completed_field(c, key);
                let one = HashMap::from([(key.to_string(), want.to_string())]);
                matches(&one, key, &v)
            }
        }
    }

    /// The one attribute `key` of a completed transaction as [`Self::completed_json`] shows it
    /// (`Null` for anything else), for filtering without building the row.
    fn completed_field(&self, c: &CompletedRow, key: &str) -> Value {
        match key {
            "TransactionId" => json!(c.id),
            "TransactionTypeName" => json!(c.type_name),
            "OrganizationCode" => json!(self.orgs[c.org].code),
            "ItemNumber" => json!(self.master.items[c.item].number),
            "SubinventoryCode" => json!(c.sub),
            other => c.source.get(other).cloned().unwrap_or(Value::Null),
        }
    }

    /// `GET inventoryCompletedTransactions/{id}/child/{lots|serials}`.
    pub(super) fn completed_child(&self, r: &ApiRequest, id: &str, child: &str) -> ApiResult<ApiResponse> {
        let c = self.completed_row(id)?;
        let rows = match child {
            "lots" => Self::completed_lots(c),
            "serials" => Self::completed_serials(c),
            _ => return Err(ApiError::not_found(format!("No child {child}."))),
        };
        self.child_collection(
            r,
            rows,
            &format!("{}/inventoryCompletedTransactions/{id}/child/{child}", r.base),
        )
    }

    pub(super) fn list_completed(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "SourceCode",
            "SourceHeaderId",
            "SourceLineId",
            "TransactionReference",
            "OrganizationCode",
            "ItemNumber",
            "TransactionId",
            "TransactionTypeName",
            "SubinventoryCode",
        ])?;
        let mut total = 0usize;
        let mut page = Vec::new();
        for c in self
            .completed_candidates(&f)
            .into_iter()
            .filter_map(|at| self.completed.get(at))
        {
            // Why field by field: building every row's JSON to filter it made a lookup cost
            // O(completed rows) allocations, which dominated the sync benchmark's CPU.
            if f.iter().all(|(k, want)| self.completed_field_is(c, k, want)) {
                if total >= p.offset && page.len() < p.limit {
                    page.push(self.completed_json(c, r, Expand::of(&p)));
                }
                total += 1;
            }
        }
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryCompletedTransactions", r.base),
            r.lies,
        )))
    }

    /// Applies a validated plan and records the completed row(s).
    pub(super) fn complete(&mut self, plan: &Plan, req: &TxnRequest, interface_id: Option<i64>) {
        txn::apply(&mut self.orgs[plan.org], plan);
        let mut source = Map::new();
        for (k, v) in [
            ("TransactionDate", &req.date),
            ("SourceCode", &req.source_code),
            ("SourceHeaderId", &req.source_header_id),
            ("SourceLineId", &req.source_line_id),
            ("TransactionReference", &req.reference),
            ("ReasonName", &req.reason),
        ] {
            source.insert(k.into(), v.clone());
        }
        let sign = |neg: bool| if neg { -Decimal::ONE } else { Decimal::ONE };
        let mk = |s: &mut Self, sub: usize, other: Option<usize>, neg: bool| {
            let id = s.next_txn_id;
            s.next_txn_id += 1;
            CompletedRow {
                id,
                transfer_id: None,
                interface_id,
                type_name: plan.type_name.to_string(),
                org: plan.org,
                item: plan.item,
                sub: SUBINVENTORIES[sub].to_string(),
                transfer_sub: other.map(|o| SUBINVENTORIES[o].to_string()),
                qty: plan.qty * sign(neg),
                uom: req.uom.clone(),
                source: source.clone(),
                lots: plan
                    .lots
                    .iter()
                    .map(|(l, q, e)| (l.clone(), *q * sign(neg), *e))
                    .collect(),
                serials: plan.serials.clone(),
            }
        };
        match plan.kind {
            Kind::Receipt => {
                let row = mk(self, plan.sub, None, false);
                self.push_completed(row);
            }
            Kind::Issue => {
                let row = mk(self, plan.sub, None, true);
                self.push_completed(row);
            }
            Kind::Transfer => {
                let to = plan.to_sub.unwrap_or(plan.sub);
                let mut debit = mk(self, plan.sub, Some(to), true);
                let mut credit = mk(self, to, Some(plan.sub), false);
                debit.transfer_id = Some(credit.id);
                credit.transfer_id = Some(debit.id);
                self.push_completed(debit);
                self.push_completed(credit);
            }
        }
    }
}
