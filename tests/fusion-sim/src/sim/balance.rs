//! `inventoryBalanceTransactions`: absolute balances from a 3PL/WMS ("Synchronize Inventory
//! Balances"), applied as adjustments. POST only (GET answers 405, fact sheet §3). Each line is
//! validated and processed on its own (`SubmitForProcessing: Yes`): a refused line gets
//! `ReturnStatus` FAILURE with `ErrorCode`/`ErrorMessage` and the others go on; the header's
//! `ReturnStatus` is FAILURE when any line failed, with Total/Success/FailedRecordsCount.
//! Switchable (see `RunningSim`): items refused by the processing step, the resource missing
//! (404, `Faults::missing_resources`), 408 after the lines were applied or a dropped answer
//! (`Faults::fail_next` on `inventoryBalanceTransactions`), plain-text errors (framework
//! version below 4). Applied lines are counted per key.

use super::*;

impl SimState {
    pub(super) fn post_balance(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let body = r
            .body
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::bad("REST-400", "A request body is required."))?;
        let org_code = text_of(body.get("OrganizationCode")).unwrap_or_default();
        let org = self.org_index(&org_code).ok_or_else(|| {
            ApiError::bad("INV-1001", format!("The organization {org_code} doesn't exist.")).at("OrganizationCode")
        })?;
        let submit = text_of(body.get("SubmitForProcessing"))
            .is_none_or(|s| s.eq_ignore_ascii_case("yes") || s.eq_ignore_ascii_case("y"));
        let lines = body
            .get("transactionLines")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let (mut ok, mut failed) = (0usize, 0usize);
        let mut out_lines = Vec::new();
        for line in &lines {
            let res = self.balance_line(org, line, submit, body);
            let mut l = line.as_object().cloned().unwrap_or_default();
            match res {
                Ok(()) => {
                    ok += 1;
                    l.insert("ReturnStatus".into(), json!("SUCCESS"));
                }
                Err(e) => {
                    failed += 1;
                    l.insert("ReturnStatus".into(), json!("FAILURE"));
                    l.insert("ErrorCode".into(), json!(e.code));
                    l.insert("ErrorMessage".into(), json!(e.detail));
                }
            }
            out_lines.push(Value::Object(l));
        }
        let id = self.next_balance_id;
        self.next_balance_id += 1;
        let mut resp = body.clone();
        // Unsure (fusion-rest.md §3): per-line outcome fields are not documented; failed lines do
        // not block the others, and ReturnStatus is FAILURE when any line failed.
        resp.insert("BalanceTransactionId".into(), json!(id));
        resp.insert(
            "ReturnStatus".into(),
            json!(if failed == 0 { "SUCCESS" } else { "FAILURE" }),
        );
        resp.insert(
            "ReturnMessageCode".into(),
            json!(if failed == 0 {
                "INV_BAL_SYNC_SUCCESS"
            } else {
                "INV_BAL_SYNC_ERRORS"
            }),
        );
        resp.insert(
            "ReturnMessageText".into(),
            json!(if failed == 0 {
                format!("{ok} balance records processed successfully.")
            } else {
                format!("{failed} of {} balance records failed.", lines.len())
            }),
        );
        resp.insert("TotalRecordsCount".into(), json!(lines.len()));
        resp.insert("SuccessRecordsCount".into(), json!(ok));
        resp.insert("FailedRecordsCount".into(), json!(failed));
        resp.insert("transactionLines".into(), Value::Array(out_lines));
        Ok(ApiResponse {
            status: 201,
            body: Some(Value::Object(resp)),
            raw: None,
            location: Some(format!("{}/inventoryBalanceTransactions/{id}", r.base)),
        })
    }

    pub(super) fn balance_line(
        &mut self,
        org: usize,
        line: &Value,
        apply: bool,
        header: &Map<String, Value>,
    ) -> ApiResult<()> {
        let l = line.as_object().cloned().unwrap_or_default();
        let org_code = self.orgs[org].code.clone();
        let item_number = text_of(l.get("ItemNumber")).unwrap_or_default();
        let (_, item) = txn::resolve_item(&self.master, &self.orgs, &org_code, &item_number)?;
        let it = self.master.items[item].clone();
        let sub_code = text_of(l.get("SubinventoryCode")).unwrap_or_default();
        let sub = sub_index(&sub_code).ok_or_else(|| {
            ApiError::bad(
                "INV-1004",
                format!("The subinventory {sub_code} doesn't exist in organization {org_code}."),
            )
        })?;
        let qty = l
            .get("Quantity")
            .and_then(parse_decimal)
            .ok_or_else(|| ApiError::bad("INV-1032", "Quantity is required and must be a number."))?;
        if let Some(u) = text_of(l.get("UOMCode")) {
            // Exact, case-sensitive (fact sheet §5).
            if u != it.uom {
                return Err(ApiError::bad(
                    "INV-1009",
                    format!(
                        "The unit of measure {u} isn't the primary unit of measure {} of item {}.",
                        it.uom, it.number
                    ),
                ));
            }
        }
        if qty.is_sign_negative() && !qty.is_zero() {
            return Err(ApiError::bad("INV-1007", "A balance quantity can't be negative."));
        }
        if qty.normalize().scale() > it.scale {
            return Err(ApiError::bad(
                "INV-1008",
                format!(
                    "The quantity {qty} has more decimal places than the {} allowed for unit of measure {}.",
                    it.scale, it.uom
                ),
            ));
        }
        let lots_in = l.get("itemLots").and_then(Value::as_array).cloned().unwrap_or_default();
        let serials_in = l
            .get("itemSerials")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut lots: Vec<(String, Decimal, NaiveDate)> = Vec::new();
        let o = &self.orgs[org];
        match it.control {
            Control::Lot => {
                if lots_in.is_empty() && !qty.is_zero() {
                    return Err(ApiError::bad(
                        "INV-1010",
                        format!("The item {} is lot controlled: itemLots are required.", it.number),
                    ));
                }
                for lv in &lots_in {
                    let lot = text_of(lv.get("LotNumber")).unwrap_or_default();
                    let q = lv
                        .get("Quantity")
                        .and_then(parse_decimal)
                        .ok_or_else(|| ApiError::bad("INV-1032", format!("The lot {lot} has no Quantity.")))?;
                    let exp = match (
                        o.lots.get(&(item as u32, lot.clone())),
                        lv.get("ExpirationDate").and_then(|v| text_of(Some(v))),
                    ) {
                        (Some(e), _) => *e,
                        (None, Some(s)) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(&s), "%Y-%m-%d")
                            .map_err(|_| ApiError::bad("INV-1030", format!("The expiration date {s} isn't valid.")))?,
                        (None, None) => {
                            return Err(ApiError::bad(
                                "INV-1024",
                                format!("The new lot {lot} requires ExpirationDate."),
                            ))
                        }
                    };
                    lots.push((lot, q, exp));
                }
                let sum: Decimal = lots.iter().map(|x| x.1).sum();
                if sum != qty {
                    return Err(ApiError::bad(
                        "INV-1012",
                        format!("The lot quantities total {sum}, not the quantity {qty}."),
                    ));
                }
            }
            _ if !lots_in.is_empty() => {
                return Err(ApiError::bad(
                    "INV-1011",
                    format!("The item {} isn't lot controlled.", it.number),
                ))
            }
            _ => {}
        }
        let serials: Vec<String> = serials_in
            .iter()
            .filter_map(|s| text_of(s.get("SerialNumber")))
            .collect();
        match it.control {
            Control::Serial => {
                let set: std::collections::BTreeSet<&String> = serials.iter().collect();
                if set.len() != serials.len() {
                    return Err(ApiError::bad("INV-1017", "The serial numbers contain duplicates."));
                }
                if Decimal::from(serials.len() as u64) != qty {
                    return Err(ApiError::bad(
                        "INV-1016",
                        format!("The {} serial numbers don't match the quantity {qty}.", serials.len()),
                    ));
                }
                for s in &serials {
                    if let Some(k) =
                        (0..state::SUBS).find(|&k| k != sub && o.bal(item, k).is_some_and(|b| b.serials.contains(s)))
                    {
                        return Err(ApiError::bad(
                            "INV-1020",
                            format!(
                                "The serial number {s} is on hand in subinventory {}.",
                                SUBINVENTORIES[k]
                            ),
                        ));
                    }
                }
            }
            _ if !serials.is_empty() => {
                return Err(ApiError::bad(
                    "INV-1026",
                    format!("The item {} isn't serial controlled.", it.number),
                ))
            }
            _ => {}
        }
        if self.refuse_balance_items.contains(&it.number) {
            // Unsure (fusion-rest.md §3): the processing step's codes and texts are not
            // documented; this one only needs to be recognisable.
            return Err(ApiError::bad(
                "INV-BAL-PROC",
                format!(
                    "The balance of item {} in subinventory {sub_code} can't be processed: the item is under cycle count.",
                    it.number
                ),
            ));
        }
        if !apply {
            return Ok(());
        }
        *self
            .balance_applied
            .entry((org_code.clone(), it.number.clone(), sub_code.clone()))
            .or_default() += 1;
        let before = o.bal(item, sub).map_or(Decimal::ZERO, |b| b.qty);
        let org_state = &mut self.orgs[org];
        for (lot, _, exp) in &lots {
            org_state.lots.entry((item as u32, lot.clone())).or_insert(*exp);
        }
        org_state.with_bal(item, sub, |b| {
            b.qty = qty;
            b.lots = lots.iter().map(|(l, q, _)| (l.clone(), *q)).collect();
            b.serials = serials.iter().cloned().collect();
        });
        let delta = qty - before;
        if !delta.is_zero() {
            let id = self.next_txn_id;
            self.next_txn_id += 1;
            let mut source = Map::new();
            for k in [
                "SourceCode",
                "SourceHeaderId",
                "SourceLineId",
                "TransactionReference",
                "TransactionDate",
            ] {
                source.insert(
                    k.into(),
                    header.get(k).or_else(|| l.get(k)).cloned().unwrap_or(Value::Null),
                );
            }
            self.push_completed(CompletedRow {
                id,
                transfer_id: None,
                interface_id: None,
                // Unsure (fusion-rest.md §3): the adjustment's transaction type name is not
                // documented.
                type_name: "Inventory Balance Adjustment".into(),
                org,
                item,
                sub: sub_code,
                transfer_sub: None,
                qty: delta,
                uom: it.uom.clone(),
                source,
                lots: Vec::new(),
                serials: Vec::new(),
            });
        }
        Ok(())
    }
}
