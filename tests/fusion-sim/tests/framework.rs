//! REST-Framework-Version: plain-text errors before v4, JSON from v4; expanded children as
//! plain arrays before v3, paged collections from v3, with child resources that page the rest.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use fusion_sim::SimConfig;
use serde_json::{json, Value};
use sim_seed::Control;

/// Receipt of `n` new serials (`{prefix}0001`..) into `sub` of DC01.
fn serial_receipt(item: &str, sub: &str, prefix: &str, n: usize, mode: i64) -> Value {
    json!({
        "OrganizationCode": "DC01", "ItemNumber": item, "SubinventoryCode": sub,
        "TransactionTypeName": "Miscellaneous Receipt", "TransactionQuantity": n,
        "TransactionUnitOfMeasure": "EA", "TransactionDate": "2026-11-01",
        "SourceCode": "WMS", "SourceHeaderId": 8100, "SourceLineId": 1, "TransactionMode": mode,
        "serials": [{"FmSerialNumber": format!("{prefix}0001"), "ToSerialNumber": format!("{prefix}{n:04}")}],
    })
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Reads every row of a paged child resource by following `href` with limit/offset.
async fn read_child(env: &Env, href: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let v: Value = env
            .http
            .get(href)
            .query(&[("limit", limit.to_string()), ("offset", out.len().to_string())])
            .basic_auth(USER, Some(PASS))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = v["items"].as_array().unwrap().clone();
        assert_eq!(v["count"], items.len());
        assert_eq!(v["limit"], limit);
        let more = v["hasMore"].as_bool().unwrap();
        out.extend(items);
        if !more {
            return out;
        }
    }
}

/// Asserts `v` is a nested child collection: first page of 25 of `total` rows, self link to
/// the child resource ending in `suffix` (none with `onlyData`).
fn assert_paged_child(v: &Value, total: usize, suffix: &str, links: bool) {
    let items = v["items"].as_array().unwrap_or_else(|| panic!("not a collection: {v}"));
    assert_eq!(items.len(), total.min(25), "{v}");
    assert_eq!(v["count"], total.min(25));
    assert_eq!(v["hasMore"], total > 25);
    assert_eq!(v["limit"], 25);
    assert_eq!(v["offset"], 0);
    if links {
        assert_eq!(v["links"][0]["rel"], "self");
        assert!(v["links"][0]["href"].as_str().unwrap().ends_with(suffix), "{v}");
    } else {
        assert!(v.get("links").is_none(), "{v}");
    }
}

#[tokio::test]
async fn errors_are_plain_text_before_v4_and_json_from_v4_with_the_same_detail() {
    let env = start().await;
    // No header: framework v1 (Oracle's documented default).
    let r = env.get_v("inventoryOnhandBalances?q=Bogus=1", None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(content_type(&r), "text/plain");
    let text_v1 = r.text().await.unwrap();
    assert!(
        text_v1.contains("Bogus") && !text_v1.trim_start().starts_with('{'),
        "{text_v1}"
    );
    let r = env.get_v("inventoryOnhandBalances?q=Bogus=1", Some("3")).await;
    assert_eq!(r.status(), 400);
    assert_eq!(content_type(&r), "text/plain");
    assert_eq!(r.text().await.unwrap(), text_v1);
    for v in ["4", "9"] {
        let r = env.get_v("inventoryOnhandBalances?q=Bogus=1", Some(v)).await;
        assert_eq!(r.status(), 400);
        assert!(content_type(&r).starts_with("application/json"));
        let body: Value = r.json().await.unwrap();
        assert_error_shape(&body, 400);
        assert_eq!(body["o:errorDetails"][0]["detail"], text_v1.as_str());
    }
    // Auth and unknown resources follow the version too; 401 keeps its challenge.
    let r = env
        .plain
        .get(format!("{}/inventoryOnhandBalances", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    assert_eq!(content_type(&r), "text/plain");
    assert_eq!(r.text().await.unwrap(), "Authentication is required.");
    let r = env.get_v("noSuchResource", None).await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.text().await.unwrap(),
        "The requested resource noSuchResource doesn't exist."
    );
    // An unsupported version is refused.
    for bad in ["0", "10", "four"] {
        let r = env.get_v("unitsOfMeasure", Some(bad)).await;
        assert_eq!(r.status(), 400, "version {bad}");
    }
}

#[tokio::test]
async fn default_framework_version_is_configurable() {
    let env = start_with(SimConfig {
        seed: small_seed(),
        default_framework_version: 4,
        ..SimConfig::default()
    })
    .await;
    let r = env.get_v("inventoryOnhandBalances?q=Bogus=1", None).await;
    assert_eq!(r.status(), 400);
    assert_error_shape(&r.json().await.unwrap(), 400);
    let r = env.get_v("inventoryOnhandBalances?q=Bogus=1", Some("1")).await;
    assert_eq!(content_type(&r), "text/plain");
}

#[tokio::test]
async fn v3_pages_expanded_onhand_children_and_the_child_resource_pages_the_rest() {
    let env = start().await;
    let (item, sub, _) = env.item_with(Control::Serial, None);
    let (s, v) = env.stage(&serial_receipt(&item, &sub, "PG", 40, 1)).await;
    assert_eq!(s, 201, "{v}");
    let want = env.serials_of(&item, &sub);
    assert!(want.len() >= 40);
    let q = format!("inventoryOnhandBalances?q=OrganizationCode=DC01;ItemNumber={item};SubinventoryCode={sub}");

    // v1 / v2: every serial in a plain array.
    for v in [None, Some("2")] {
        let body = env.get_json_v(&format!("{q}&expand=serials"), v).await;
        assert_eq!(body["items"][0]["serials"].as_array().unwrap().len(), want.len());
    }
    // v3 / v4: the first 25 in a nested collection, the rest behind its self link.
    for v in ["3", "4"] {
        let body = env.get_json_v(&format!("{q}&expand=all"), Some(v)).await;
        let row = &body["items"][0];
        assert_paged_child(&row["serials"], want.len(), "/child/serials", true);
        assert_paged_child(&row["lots"], 0, "/child/lots", true);
        let href = row["serials"]["links"][0]["href"].as_str().unwrap().to_string();
        assert_eq!(
            href,
            format!("{}/child/serials", row["links"][0]["href"].as_str().unwrap())
        );
        let all: Vec<String> = read_child(&env, &href, 10)
            .await
            .iter()
            .map(|s| s["SerialNumber"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(all, want);
    }
    // The single balance honours expand the same way.
    let body = env.get_json_v(&q, Some("4")).await;
    let one_href = body["items"][0]["links"][0]["href"].as_str().unwrap().to_string();
    let one: Value = env
        .http
        .get(format!("{one_href}?expand=serials"))
        .basic_auth(USER, Some(PASS))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_paged_child(&one["serials"], want.len(), "/child/serials", true);
    // onlyData drops links, inside the nested collection too.
    let body = env
        .get_json_v(&format!("{q}&expand=serials&onlyData=true"), Some("4"))
        .await;
    assert_paged_child(&body["items"][0]["serials"], want.len(), "/child/serials", false);
}

#[tokio::test]
async fn v3_pages_staged_and_completed_children_which_have_child_resources() {
    let env = start().await;
    let (item, sub, _) = env.item_with(Control::Serial, None);
    let (s, v) = env.stage(&serial_receipt(&item, &sub, "ST", 30, 3)).await;
    assert_eq!(s, 201, "{v}");
    // The POST answer renders children as the request's version (v4 here).
    assert_paged_child(&v["serials"], 30, "/child/serials", true);
    let id = v["TransactionInterfaceId"].as_i64().unwrap();
    let item_path = format!("inventoryStagedTransactions/{id}");

    let old = env.get_json_v(&item_path, Some("2")).await;
    assert_eq!(old["serials"].as_array().unwrap().len(), 30);
    assert_eq!(old["lots"], json!([]));
    let new = env.get_json_v(&item_path, Some("3")).await;
    assert_paged_child(&new["serials"], 30, &format!("{id}/child/serials"), true);
    let page = env
        .get_json_v(&format!("{item_path}/child/serials?limit=10&offset=20"), Some("4"))
        .await;
    assert_eq!(page["count"], 10);
    assert_eq!(page["hasMore"], false);
    assert_eq!(page["items"][9]["FmSerialNumber"], "ST0030");
    let page = env
        .get_json_v(&format!("{item_path}/child/serials?offset=25"), None)
        .await;
    assert_eq!(page["count"], 5);
    let list = env
        .get_json_v(
            "inventoryStagedTransactions?q=SourceHeaderId=8100&expand=serials",
            Some("4"),
        )
        .await;
    assert_paged_child(&list["items"][0]["serials"], 30, "/child/serials", true);
    assert!(
        list["items"][0].get("lots").is_none(),
        "only the named child is expanded"
    );
    assert_eq!(env.get_v(&format!("{item_path}/child/nope"), None).await.status(), 404);

    assert_eq!(env.sim.process_staged().processed, 1);
    let list = env
        .get_json_v(
            "inventoryCompletedTransactions?q=SourceHeaderId=8100&expand=all",
            Some("4"),
        )
        .await;
    let row = &list["items"][0];
    assert_paged_child(&row["serials"], 30, "/child/serials", true);
    assert_paged_child(&row["lots"], 0, "/child/lots", true);
    let href = row["serials"]["links"][0]["href"].as_str().unwrap().to_string();
    let all = read_child(&env, &href, 7).await;
    assert_eq!(all.len(), 30);
    assert_eq!(all[29]["SerialNumber"], "ST0030");
    let tid = row["TransactionId"].as_i64().unwrap();
    let one = env
        .get_json_v(&format!("inventoryCompletedTransactions/{tid}"), Some("3"))
        .await;
    assert_paged_child(&one["serials"], 30, "/child/serials", true);
    let one = env
        .get_json_v(&format!("inventoryCompletedTransactions/{tid}"), None)
        .await;
    assert_eq!(one["serials"].as_array().unwrap().len(), 30);
}
