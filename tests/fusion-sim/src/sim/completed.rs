//! `inventoryCompletedTransactions`: completed material transactions and how a processed plan
//! becomes completed rows.

use super::*;

impl SimState {
    pub(super) fn completed_row(&self, id: &str) -> ApiResult<&CompletedRow> {
        id.parse::<i64>()
            .ok()
            .and_then(|id| self.completed.iter().find(|c| c.id == id))
            .ok_or_else(|| ApiError::not_found(format!("No transaction {id}.")))
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
        for c in &self.completed {
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
                self.completed.push(row);
            }
            Kind::Issue => {
                let row = mk(self, plan.sub, None, true);
                self.completed.push(row);
            }
            Kind::Transfer => {
                let to = plan.to_sub.unwrap_or(plan.sub);
                let mut debit = mk(self, plan.sub, Some(to), true);
                let mut credit = mk(self, to, Some(plan.sub), false);
                debit.transfer_id = Some(credit.id);
                credit.transfer_id = Some(debit.id);
                self.completed.push(debit);
                self.completed.push(credit);
            }
        }
    }
}
