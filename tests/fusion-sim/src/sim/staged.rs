//! `inventoryStagedTransactions`: posting (Online processes at once), reading, patching, and the
//! transaction manager that processes pending interface rows.

use super::*;

impl SimState {
    pub(super) fn staged_row(&self, id: &str) -> ApiResult<&StagedRow> {
        id.parse::<i64>()
            .ok()
            .and_then(|k| self.staged.get(&k))
            .ok_or_else(|| ApiError::not_found(format!("The staged transaction {id} doesn't exist.")))
    }

    pub(super) fn staged_json(&self, row: &StagedRow, base: &str, children: bool) -> Value {
        let mut m = Map::new();
        m.insert("TransactionInterfaceId".into(), json!(row.id));
        row.req.attrs(&mut m);
        if let Some(o) = self.org_index(&row.req.org) {
            m.insert("OrganizationId".into(), json!(self.orgs[o].id));
        }
        if let Some(&i) = self.master.by_number.get(&row.req.item) {
            m.insert("InventoryItemId".into(), json!(self.master.items[i as usize].id));
        }
        // Unsure (fusion-rest.md §3, M): the REST names of the process flag and error fields
        // come from working client code, not an Oracle page.
        m.insert("ProcessFlag".into(), json!(row.process_flag));
        m.insert("ErrorCode".into(), json!(row.error_code));
        m.insert("ErrorExplanation".into(), json!(row.error_explanation));
        if children {
            m.insert(
                "lots".into(),
                Value::Array(
                    row.req
                        .lots
                        .iter()
                        .map(|l| {
                            json!({
                                "LotNumber": l.lot,
                                "TransactionQuantity": num(l.qty),
                                "LotExpirationDate": l.expiration.map(|d| d.format("%Y-%m-%d").to_string()),
                            })
                        })
                        .collect(),
                ),
            );
            m.insert(
                "serials".into(),
                Value::Array(
                    row.req
                        .serials
                        .iter()
                        .map(|s| json!({"FmSerialNumber": s, "ToSerialNumber": s}))
                        .collect(),
                ),
            );
        }
        m.insert(
            "links".into(),
            self_link(
                format!("{base}/inventoryStagedTransactions/{}", row.id),
                "inventoryStagedTransactions",
            ),
        );
        Value::Object(m)
    }

    pub(super) fn post_staged(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let body = r
            .body
            .as_ref()
            .ok_or_else(|| ApiError::bad("REST-400", "A request body is required."))?;
        let req = TxnRequest::parse(body, self.settings.rules.max_serials)?;
        let id = self.next_interface_id;
        let location = format!("{}/inventoryStagedTransactions/{id}", r.base);
        if req.mode == 1 && !r.stage_only {
            let plan = txn::validate(&self.master, &self.orgs, &req, self.settings.rules)?;
            self.next_interface_id += 1;
            self.complete(&plan, &req, Some(id));
            let row = StagedRow {
                id,
                req,
                process_flag: 7,
                error_code: None,
                error_explanation: None,
            };
            let mut body = self.staged_json(&row, &r.base, true);
            if let Some(m) = body.as_object_mut() {
                // Unsure (fusion-rest.md §3): the response of a processed Online row is not
                // documented; the simulator answers ProcessFlag null, as the row has left the
                // interface (GET on Location answers 404).
                m.insert("ProcessFlag".into(), Value::Null);
            }
            return Ok(ApiResponse {
                status: 201,
                body: Some(body),
                location: Some(location),
            });
        }
        self.next_interface_id += 1;
        let row = StagedRow {
            id,
            req,
            process_flag: 1,
            error_code: None,
            error_explanation: None,
        };
        let body = self.staged_json(&row, &r.base, true);
        self.staged.insert(id, row);
        if r.stage_only {
            return Err(ApiError::new(
                408,
                "INV-1408",
                format!("The online transaction {id} could not finish in time; it remains in the interface for background processing."),
            ));
        }
        Ok(ApiResponse {
            status: 201,
            body: Some(body),
            location: Some(location),
        })
    }

    pub(super) fn patch_staged(&mut self, r: &ApiRequest, id: &str) -> ApiResult<ApiResponse> {
        let key = self.staged_row(id)?.id;
        let patch = r.body.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
        let mut merged = Map::new();
        if let Some(row) = self.staged.get(&key) {
            let v = self.staged_json(row, &r.base, true);
            if let Value::Object(m) = v {
                merged = m;
            }
        }
        for (k, v) in &patch {
            merged.insert(k.clone(), v.clone());
        }
        let req = TxnRequest::parse(&Value::Object(merged), self.settings.rules.max_serials)?;
        if let Some(row) = self.staged.get_mut(&key) {
            row.req = req;
            if patch.contains_key("ProcessFlag") || row.process_flag == 3 {
                row.process_flag = 1;
                row.error_code = None;
                row.error_explanation = None;
            }
        }
        let row = self.staged_row(id)?;
        Ok(ApiResponse::ok(self.staged_json(row, &r.base, true)))
    }

    pub(super) fn list_staged(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "SourceCode",
            "SourceHeaderId",
            "SourceLineId",
            "TransactionReference",
            "OrganizationCode",
            "ProcessFlag",
            "ItemNumber",
            "TransactionInterfaceId",
        ])?;
        let rows: Vec<Value> = self
            .staged
            .values()
            .map(|row| self.staged_json(row, &r.base, p.expands("lots") || p.expands("serials")))
            .filter(|v| f.keys().all(|k| matches(&f, k, &v[k.as_str()])))
            .collect();
        let (page, total) = page_of(rows, &p);
        let page = page.into_iter().map(|v| strip(v, &p)).collect();
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryStagedTransactions", r.base),
            r.lies,
        )))
    }

    /// Runs the transaction manager over pending (ProcessFlag 1) rows in id order.
    pub fn process_staged(&mut self) -> ProcessReport {
        let mut report = ProcessReport::default();
        let pending: Vec<i64> = self
            .staged
            .values()
            .filter(|r| r.process_flag == 1)
            .map(|r| r.id)
            .collect();
        for id in pending {
            let Some(row) = self.staged.get(&id).cloned() else {
                continue;
            };
            match txn::validate(&self.master, &self.orgs, &row.req, self.settings.rules) {
                Ok(plan) => {
                    self.complete(&plan, &row.req, Some(id));
                    self.staged.remove(&id);
                    report.processed += 1;
                }
                Err(e) => {
                    if let Some(r) = self.staged.get_mut(&id) {
                        r.process_flag = 3;
                        r.error_code = Some(e.code);
                        r.error_explanation = Some(e.detail);
                    }
                    report.failed += 1;
                }
            }
        }
        report
    }
}
