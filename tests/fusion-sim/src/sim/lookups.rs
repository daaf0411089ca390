//! Master-data lookups: `itemsV2`, `unitsOfMeasure`, `inventoryItemLots` (and lot creation),
//! `inventoryOrganizations`.

use super::*;

impl SimState {
    pub(super) fn list_items(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&["ItemNumber", "OrganizationCode", "InventoryItemId", "OrganizationId"])?;
        let items: Vec<usize> = match f.get("ItemNumber") {
            Some(n) => self.master.by_number.get(n).map(|&i| i as usize).into_iter().collect(),
            None => (0..self.master.items.len()).collect(),
        };
        let mut total = 0;
        let mut page = Vec::new();
        for (oi, o) in self.orgs.iter().enumerate() {
            if f.get("OrganizationCode").is_some_and(|c| c != &o.code)
                || f.get("OrganizationId").is_some_and(|c| *c != o.id.to_string())
            {
                continue;
            }
            for &i in &items {
                let it = &self.master.items[i];
                if o.unassigned.contains(&(i as u32))
                    || f.get("InventoryItemId").is_some_and(|c| *c != it.id.to_string())
                {
                    continue;
                }
                if total >= p.offset && page.len() < p.limit {
                    // Unsure (fusion-rest.md §5, L): control flag names and codes follow EBS
                    // (LotControlCode 1 none / 2 full; SerialNumberControlCode 1 none / 5 at receipt).
                    let mut m = json!({
                        "InventoryItemId": it.id,
                        "ItemNumber": it.number,
                        "OrganizationId": self.orgs[oi].id,
                        "OrganizationCode": o.code,
                        "PrimaryUOMCode": it.uom,
                        "LotControlCode": if it.control == Control::Lot { 2 } else { 1 },
                        "SerialNumberControlCode": if it.control == Control::Serial { 5 } else { 1 },
                    });
                    if !p.only_data {
                        m["links"] = self_link(format!("{}/itemsV2/{}", r.base, it.id), "itemsV2");
                    }
                    page.push(m);
                }
                total += 1;
            }
        }
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/itemsV2", r.base),
            r.lies,
        )))
    }

    pub(super) fn list_uoms(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&["UOMCode", "UnitOfMeasure"])?;
        // Unsure (fusion-rest.md §5): the precision attribute's name isn't confirmed; the codes
        // are the catalog's, spelled as its UomStyle has them, matched exactly (case-sensitive).
        let rows = self
            .master
            .units
            .iter()
            .map(|u| json!({"UOMCode": u.code, "UnitOfMeasure": u.name, "DecimalPrecision": u.scale}))
            .filter(|v| f.keys().all(|k| matches(&f, k, &v[k.as_str()])))
            .collect();
        let (page, total) = page_of(rows, &p);
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/unitsOfMeasure", r.base),
            r.lies,
        )))
    }

    /// `GET unitsOfMeasure/{UOMCode}`: one unit, its code matched exactly.
    pub(super) fn get_uom(&self, code: &str) -> ApiResult<ApiResponse> {
        self.master
            .units
            .iter()
            .find(|u| u.code == code)
            .map(|u| ApiResponse::ok(json!({"UOMCode": u.code, "UnitOfMeasure": u.name, "DecimalPrecision": u.scale})))
            .ok_or_else(|| ApiError::not_found(format!("The unit of measure {code} doesn't exist.")))
    }

    pub(super) fn list_lots(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&[
            "OrganizationCode",
            "ItemNumber",
            "LotNumber",
            "OrganizationId",
            "InventoryItemId",
        ])?;
        let item = match f.get("ItemNumber") {
            Some(n) => match self.master.by_number.get(n) {
                Some(&i) => Some(i),
                None => {
                    return Ok(ApiResponse::ok(envelope(
                        Vec::new(),
                        0,
                        &p,
                        &format!("{}/inventoryItemLots", r.base),
                        r.lies,
                    )))
                }
            },
            None => None,
        };
        let mut total = 0;
        let mut page = Vec::new();
        for o in &self.orgs {
            if f.get("OrganizationCode").is_some_and(|c| c != &o.code)
                || f.get("OrganizationId").is_some_and(|c| *c != o.id.to_string())
            {
                continue;
            }
            let range: Box<dyn Iterator<Item = (&(u32, String), &NaiveDate)>> = match item {
                Some(i) => Box::new(o.lots.range((i, String::new())..(i + 1, String::new()))),
                None => Box::new(o.lots.iter()),
            };
            for ((i, lot), exp) in range {
                let it = &self.master.items[*i as usize];
                if f.get("LotNumber").is_some_and(|l| l != lot)
                    || f.get("InventoryItemId").is_some_and(|c| *c != it.id.to_string())
                {
                    continue;
                }
                if total >= p.offset && page.len() < p.limit {
                    page.push(json!({
                        "OrganizationId": o.id, "OrganizationCode": o.code, "InventoryItemId": it.id,
                        "ItemNumber": it.number, "LotNumber": lot, "ExpirationDate": exp.format("%Y-%m-%d").to_string(),
                    }));
                }
                total += 1;
            }
        }
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryItemLots", r.base),
            r.lies,
        )))
    }

    pub(super) fn post_lot(&mut self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let b = r
            .body
            .as_ref()
            .and_then(Value::as_object)
            .ok_or_else(|| ApiError::bad("REST-400", "A request body is required."))?;
        let org_code = text_of(b.get("OrganizationCode")).unwrap_or_default();
        let item_number = text_of(b.get("ItemNumber")).unwrap_or_default();
        let (org, item) = txn::resolve_item(&self.master, &self.orgs, &org_code, &item_number)?;
        if self.master.items[item].control != Control::Lot {
            return Err(
                ApiError::bad("INV-1011", format!("The item {item_number} isn't lot controlled.")).at("ItemNumber"),
            );
        }
        let lot = text_of(b.get("LotNumber"))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::bad("INV-1023", "The attribute LotNumber is required.").at("LotNumber"))?;
        let exp_s = text_of(b.get("ExpirationDate")).ok_or_else(|| {
            ApiError::bad("INV-1024", "The attribute ExpirationDate is required.").at("ExpirationDate")
        })?;
        let exp = NaiveDate::parse_from_str(exp_s.get(..10).unwrap_or(&exp_s), "%Y-%m-%d").map_err(|_| {
            ApiError::bad("INV-1030", format!("The expiration date {exp_s} isn't valid.")).at("ExpirationDate")
        })?;
        let key = (item as u32, lot.clone());
        if self.orgs[org].lots.contains_key(&key) {
            return Err(ApiError::bad(
                "INV-1028",
                format!("The lot {lot} already exists for item {item_number} in organization {org_code}."),
            )
            .at("LotNumber"));
        }
        self.orgs[org].lots.insert(key, exp);
        let o = &self.orgs[org];
        Ok(ApiResponse {
            status: 201,
            body: Some(json!({
                "OrganizationId": o.id, "OrganizationCode": o.code, "InventoryItemId": self.master.items[item].id,
                "ItemNumber": item_number, "LotNumber": lot, "ExpirationDate": exp.format("%Y-%m-%d").to_string(),
            })),
            raw: None,
            location: Some(format!(
                "{}/inventoryItemLots/{}",
                r.base,
                uniq_id(o.id, self.master.items[item].id, 0)
            )),
        })
    }

    pub(super) fn list_orgs(&self, r: &ApiRequest) -> ApiResult<ApiResponse> {
        let p = self.params(r)?;
        let f = p.filters(&["OrganizationCode", "OrganizationId"])?;
        let rows = self
            .orgs
            .iter()
            .map(|o| json!({"OrganizationId": o.id, "OrganizationCode": o.code, "OrganizationName": format!("Distribution Center {}", o.code)}))
            .filter(|v| f.keys().all(|k| matches(&f, k, &v[k.as_str()])))
            .collect();
        let (page, total) = page_of(rows, &p);
        Ok(ApiResponse::ok(envelope(
            page,
            total,
            &p,
            &format!("{}/inventoryOrganizations", r.base),
            r.lies,
        )))
    }
}
