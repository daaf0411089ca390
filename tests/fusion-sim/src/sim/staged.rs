//! `inventoryStagedTransactions`: posting (Online processes at once, Concurrent is scheduled,
//! Background waits for the transaction manager in `process`), reading (with the `lots` and
//! `serials` children), patching and deleting.

use super::*;

impl SimState {
    pub(super) fn staged_row(&self, id: &str) -> ApiResult<&StagedRow> {
        id.parse::<i64>()
            .ok()
            .and_then(|k| self.staged.get(&k))
            .ok_or_else(|| ApiError::not_found(format!("The staged transaction {id} doesn't exist.")))
    }

    /// The `lots` child rows of a staged row. `ErrorCode` is set after a processing failure that
    /// concerned the lots (fact sheet §3: the lots child carries an ErrorCode).
    fn staged_lots(row: &StagedRow) -> Vec<Value> {
        row.req
            .lots
            .iter()
            .map(|l| {
                json!({
                    "LotNumber": l.lot,
                    "TransactionQuantity": num(l.qty),
                    "LotExpirationDate": l.expiration.map(|d| d.format("%Y-%m-%d").to_string()),
                    "ErrorCode": row.lot_error_code,
                })
            })
            .collect()
    }

    /// The `serials` child rows of a staged row (one row per serial: from = to).
    fn staged_serials(row: &StagedRow) -> Vec<Value> {
        row.req
            .serials
            .iter()
            .map(|s| json!({"FmSerialNumber": s, "ToSerialNumber": s}))
            .collect()
    }

    /// One staged row as the REST resource shows it.
    pub(super) fn staged_json(&self, row: &StagedRow, r: &ApiRequest, x: Expand) -> Value {
        let href = format!("{}/inventoryStagedTransactions/{}", r.base, row.id);
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
        if x.lots {
            let v = self.child_value(Self::staged_lots(row), r, x.only_data, format!("{href}/child/lots"));
            m.insert("lots".into(), v);
        }
        if x.serials {
            let v = self.child_value(
                Self::staged_serials(row),
                r,
                x.only_data,
                format!("{href}/child/serials"),
            );
            m.insert("serials".into(), v);
        }
        if !x.only_data {
            m.insert("links".into(), self_link(href, "inventoryStagedTransactions"));
        }
        Value::Object(m)
    }

    /// `GET inventoryStagedTransactions/{id}/child/{lots|serials}`.
    pub(super) fn staged_child(&self, r: &ApiRequest, id: &str, child: &str) -> ApiResult<ApiResponse> {
        let row = self.staged_row(id)?;
        let rows = match child {
            "lots" => Self::staged_lots(row),
            "serials" => Self::staged_serials(row),
            _ => return Err(ApiError::not_found(format!("No child {child}."))),
        };
        self.child_collection(
            r,
            rows,
            &format!("{}/inventoryStagedTransactions/{id}/child/{child}", r.base),
        )
    }

    /// A new pending row; Concurrent rows are scheduled `concurrent_delay` ahead.
    fn pending_row(&mut self, id: i64, req: TxnRequest) -> StagedRow {
        let mut row = StagedRow {
            id,
            req,
            process_flag: 1,
            error_code: None,
            error_explanation: None,
            lot_error_code: None,
            due: None,
        };
        self.schedule_if_concurrent(&mut row);
        row
    }

    /// Schedules a pending Concurrent (mode 2) row: Fusion starts the Create Inventory
    /// Transaction job at once for it (fact sheet §3); the simulator runs it after
    /// `concurrent_delay`.
    pub(super) fn schedule_if_concurrent(&mut self, row: &mut StagedRow) {
        if row.req.mode == 2 && row.process_flag == 1 {
            let at = Instant::now() + self.settings.concurrent_delay;
            row.due = Some(at);
            self.concurrent_due.insert((at, row.id));
        } else {
            row.due = None;
        }
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
                lot_error_code: None,
                due: None,
            };
            let mut body = self.staged_json(&row, r, Expand::ALL);
            if let Some(m) = body.as_object_mut() {
                // Unsure (fusion-rest.md §3): the response of a processed Online row is not
                // documented; the simulator answers ProcessFlag null, as the row has left the
                // interface (GET on Location answers 404).
                m.insert("ProcessFlag".into(), Value::Null);
            }
            return Ok(ApiResponse {
                status: 201,
                body: Some(body),
                raw: None,
                location: Some(location),
            });
        }
        self.next_interface_id += 1;
        let row = self.pending_row(id, req);
        let body = self.staged_json(&row, r, Expand::ALL);
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
            raw: None,
            location: Some(location),
        })
    }

    pub(super) fn patch_staged(&mut self, r: &ApiRequest, id: &str) -> ApiResult<ApiResponse> {
        let key = self.staged_row(id)?.id;
        let patch = r.body.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
        let mut merged = Map::new();
        if let Some(row) = self.staged.get(&key) {
            // Merge onto the row with plain-array children, whatever the caller's version.
            let plain = ApiRequest {
                framework_version: 1,
                ..r.clone()
            };
            if let Value::Object(m) = self.staged_json(row, &plain, Expand::ALL) {
                merged = m;
            }
        }
        for (k, v) in &patch {
            merged.insert(k.clone(), v.clone());
        }
        let req = TxnRequest::parse(&Value::Object(merged), self.settings.rules.max_serials)?;
        if let Some(mut row) = self.staged.remove(&key) {
            let was_due = row.due.is_some();
            let mode_changed = row.req.mode != req.mode;
            row.req = req;
            let resubmitted = patch.contains_key("ProcessFlag") || row.process_flag == 3;
            if resubmitted {
                row.process_flag = 1;
                row.error_code = None;
                row.error_explanation = None;
                row.lot_error_code = None;
            }
            if resubmitted || mode_changed || !was_due {
                self.schedule_if_concurrent(&mut row);
            }
            self.staged.insert(key, row);
        }
        let row = self.staged_row(id)?;
        Ok(ApiResponse::ok(self.staged_json(row, r, Expand::ALL)))
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
        let hits: Vec<&StagedRow> = self
            .staged
            .values()
            .filter(|row| {
                let v = self.staged_json(row, r, Expand::NONE);
                f.keys().all(|k| matches(&f, k, &v[k.as_str()]))
            })
            .collect();
        let total = hits.len();
        let page = hits
            .into_iter()
            .skip(p.offset)
            .take(p.limit)
            .map(|row| self.staged_json(row, r, Expand::of(&p)))
            .collect();
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryStagedTransactions", r.base),
            r.lies,
        )))
    }
}
