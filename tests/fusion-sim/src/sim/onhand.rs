//! `inventoryOnhandBalances`: the collection, one balance, and its `lots` / `serials` children.

use super::*;

/// One balance row: organization, item and subinventory indexes.
pub(super) type BalanceAt = (usize, usize, usize);

impl SimState {
    /// One balance row; expanded `lots` / `serials` as the request's framework version shows
    /// them ([`SimState::child_value`]).
    pub(super) fn onhand_json(&self, org: usize, item: usize, sub: usize, p: &ListParams, r: &ApiRequest) -> Value {
        let o = &self.orgs[org];
        let it = &self.master.items[item];
        let href = format!("{}/inventoryOnhandBalances/{}", r.base, uniq_id(o.id, it.id, sub));
        let bal = o.bal(item, sub);
        let mut m = Map::new();
        m.insert("OrganizationId".into(), json!(o.id));
        m.insert("OrganizationCode".into(), json!(o.code));
        m.insert("InventoryItemId".into(), json!(it.id));
        m.insert("ItemNumber".into(), json!(it.number));
        m.insert("SubinventoryCode".into(), json!(SUBINVENTORIES[sub]));
        m.insert("PrimaryUOMCode".into(), json!(it.uom));
        // Unsure (fusion-rest.md §2, L): the quantity attribute name is PrimaryQuantity per
        // third-party code only.
        m.insert("PrimaryQuantity".into(), num(bal.map_or(Decimal::ZERO, |b| b.qty)));
        if p.expands("lots") {
            let rows = self.onhand_lots(org, item, sub);
            m.insert(
                "lots".into(),
                self.child_value(rows, r, p.only_data, format!("{href}/child/lots")),
            );
        }
        if p.expands("serials") {
            let rows = self.onhand_serials(org, item, sub);
            m.insert(
                "serials".into(),
                self.child_value(rows, r, p.only_data, format!("{href}/child/serials")),
            );
        }
        if !p.only_data {
            m.insert("links".into(), self_link(href, "inventoryOnhandBalances"));
        }
        Value::Object(m)
    }

    fn onhand_lots(&self, org: usize, item: usize, sub: usize) -> Vec<Value> {
        let o = &self.orgs[org];
        let lots = o.bal(item, sub).map(|b| &b.lots);
        lots.into_iter()
            .flatten()
            .map(|(lot, q)| {
                let exp = o.lots.get(&(item as u32, lot.clone()));
                json!({
                    "LotNumber": lot,
                    "ExpirationDate": exp.map(|d| d.format("%Y-%m-%d").to_string()),
                    "PrimaryQuantity": num(*q),
                })
            })
            .collect()
    }

    fn onhand_serials(&self, org: usize, item: usize, sub: usize) -> Vec<Value> {
        let serials = self.orgs[org].bal(item, sub).map(|b| &b.serials);
        serials
            .into_iter()
            .flatten()
            .map(|s| json!({"SerialNumber": s}))
            .collect()
    }

    /// The balances `GET inventoryOnhandBalances` selects with `p`: the page's rows, and the
    /// collection's total.
    pub(super) fn onhand_selection(&self, p: &ListParams) -> ApiResult<(Vec<BalanceAt>, usize)> {
        let f = p.filters(&[
            "OrganizationCode",
            "OrganizationId",
            "ItemNumber",
            "InventoryItemId",
            "SubinventoryCode",
        ])?;
        let orgs: Vec<usize> = (0..self.orgs.len())
            .filter(|&i| {
                f.get("OrganizationCode").is_none_or(|c| &self.orgs[i].code == c)
                    && f.get("OrganizationId")
                        .is_none_or(|c| self.orgs[i].id.to_string() == *c)
            })
            .collect();
        let sub = match f.get("SubinventoryCode") {
            None => None,
            Some(code) => match sub_index(code) {
                Some(s) => Some(s),
                None => return Ok((Vec::new(), 0)),
            },
        };
        let item = match (f.get("ItemNumber"), f.get("InventoryItemId")) {
            (None, None) => None,
            (n, id) => {
                let found =
                    self.master.items.iter().position(|it| {
                        n.is_none_or(|n| &it.number == n) && id.is_none_or(|id| it.id.to_string() == *id)
                    });
                match found {
                    Some(i) => Some(i),
                    None => return Ok((Vec::new(), 0)),
                }
            }
        };
        let mut rows = Vec::new();
        let mut total = 0usize;
        for &o in &orgs {
            let org = &self.orgs[o];
            if let Some(item) = item {
                for s in 0..state::SUBS {
                    if sub.is_some_and(|w| w != s) || org.bal(item, s).is_none() {
                        continue;
                    }
                    if total >= p.offset && rows.len() < p.limit {
                        rows.push((o, item, s));
                    }
                    total += 1;
                }
                continue;
            }
            let n = org.row_count(sub);
            let start = p.offset.saturating_sub(total);
            let want = p.limit - rows.len();
            if start < n && want > 0 {
                for rr in org.page(sub, start, want) {
                    rows.push((o, rr.item, rr.sub));
                }
            }
            total += n;
        }
        Ok((rows, total))
    }

    pub(super) fn list_onhand(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let (rows, total) = self.onhand_selection(&p)?;
        Ok(ApiResponse::ok_raw(self.onhand_page_json(&rows, total, &p, r)))
    }

    /// [`Self::list_onhand`]'s body built as `serde_json::Value`s, row by row
    /// ([`Self::onhand_json`]) inside [`envelope`]: the reference the typed writer must match.
    #[cfg(test)]
    pub(super) fn list_onhand_value(&self, r: &ApiRequest) -> ApiResult<Value> {
        let p = self.params(r)?;
        let (rows, total) = self.onhand_selection(&p)?;
        let href = format!("{}/inventoryOnhandBalances", r.base);
        let rows = rows
            .into_iter()
            .map(|(o, item, sub)| self.onhand_json(o, item, sub, &p, r))
            .collect();
        Ok(envelope(rows, total, &p, &href, r.lies))
    }

    pub(super) fn get_onhand(&self, r: &ApiRequest, id: &str, child: Option<&str>) -> ApiResult<ApiResponse> {
        let nf = || ApiError::not_found(format!("The on-hand balance {id} doesn't exist."));
        let (org_id, item_id, sub) = parse_uniq_id(id).ok_or_else(nf)?;
        let org = self.orgs.iter().position(|o| o.id == org_id).ok_or_else(nf)?;
        let item = self.master.items.iter().position(|i| i.id == item_id).ok_or_else(nf)?;
        if sub >= state::SUBS || self.orgs[org].bal(item, sub).is_none() {
            return Err(nf());
        }
        match child {
            None => {
                let p = self.params(r)?;
                Ok(ApiResponse::ok(self.onhand_json(org, item, sub, &p, r)))
            }
            Some(c) => {
                let rows = match c {
                    "lots" => self.onhand_lots(org, item, sub),
                    "serials" => self.onhand_serials(org, item, sub),
                    _ => return Err(ApiError::not_found(format!("No child {c}."))),
                };
                self.child_collection(r, rows, &format!("{}/inventoryOnhandBalances/{id}/child/{c}", r.base))
            }
        }
    }
}
