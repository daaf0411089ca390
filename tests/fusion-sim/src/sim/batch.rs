//! Batch requests: parts run sequentially and all-or-none. Parts inherit the batch request's
//! REST framework version, and a part addressing a missing or forbidden resource
//! (`Faults::missing_resources` / `forbidden_resources`) fails like any other part.

use super::*;

impl SimState {
    /// Runs batch parts sequentially, all-or-none: on any failure the touched state is
    /// restored and only the failing parts are returned (`Err`); otherwise every part's result.
    /// `ctx` supplies the base URL, `hasMore` reporting and framework version of the batch
    /// request; `refuse` answers the error for a resource that is missing or forbidden.
    pub fn batch(
        &mut self,
        parts: &[Value],
        ctx: &ApiRequest,
        refuse: &dyn Fn(&str) -> Option<ApiError>,
    ) -> Result<Vec<Value>, Vec<Value>> {
        // Why only with a write part: a read-only batch changes nothing to restore, and copying
        // the interface for every page's item lookups was pure cost.
        let writes = parts
            .iter()
            .any(|p| !text_of(p.get("operation")).is_some_and(|o| o.eq_ignore_ascii_case("get")));
        let saved_staged = if writes {
            self.staged.clone()
        } else {
            Default::default()
        };
        let saved_completed = self.completed.len();
        let saved_ids = (self.next_interface_id, self.next_txn_id, self.next_balance_id);
        let mut saved_orgs: HashMap<usize, OrgState> = HashMap::new();
        let mut results = Vec::new();
        let mut failures = Vec::new();
        for part in parts {
            let id = part.get("id").cloned().unwrap_or(Value::Null);
            let path = text_of(part.get("path")).unwrap_or_default();
            let op = text_of(part.get("operation")).unwrap_or_default().to_ascii_lowercase();
            let method = match op.as_str() {
                "get" => "GET",
                "create" => "POST",
                "update" => "PATCH",
                "replace" => "PUT",
                "delete" => "DELETE",
                _ => "",
            };
            let payload = part.get("payload").cloned();
            if method != "GET" {
                let code = payload.as_ref().and_then(|p| text_of(p.get("OrganizationCode")));
                if let Some(o) = code.and_then(|c| self.org_index(&c)) {
                    saved_orgs.entry(o).or_insert_with(|| self.orgs[o].clone());
                }
            }
            let (path_only, query) = path.split_once('?').unwrap_or((path.as_str(), ""));
            let rel = path_only
                .trim_start_matches('/')
                .trim_start_matches("fscmRestApi/resources/")
                .trim_start_matches("11.13.18.05/")
                .trim_start_matches("latest/");
            let req = ApiRequest {
                method: method.to_string(),
                segments: rel.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
                query: crate::http::parse_query(query),
                body: payload,
                base: ctx.base.clone(),
                lies: ctx.lies,
                stage_only: false,
                framework_version: ctx.framework_version,
            };
            let refused = req.segments.first().and_then(|res| refuse(res));
            let res = if method.is_empty() {
                Err(ApiError::bad(
                    "REST-400",
                    format!("The batch operation {op} isn't valid."),
                ))
            } else if let Some(e) = refused {
                Err(e)
            } else {
                self.handle(&req)
            };
            match res {
                Ok(resp) => results.push(json!({"id": id, "path": path, "operation": op, "payload": resp.json()})),
                // Unsure (fact sheet §4): how a failed part's payload looks under framework
                // versions before 4 isn't documented; parts always carry the JSON error body.
                Err(e) => failures
                    .push(json!({"id": id, "path": path, "operation": op, "payload": e.body(), "status": e.status})),
            }
        }
        if failures.is_empty() {
            return Ok(results);
        }
        if writes {
            self.staged = saved_staged;
        }
        self.truncate_completed(saved_completed);
        (self.next_interface_id, self.next_txn_id, self.next_balance_id) = saved_ids;
        for (o, st) in saved_orgs {
            self.orgs[o] = st;
        }
        Err(failures)
    }
}
