//! `inventoryOnhandBalances` collection pages written straight to JSON bytes from typed rows.
//!
//! Why: at 12 DCs x 50,000 SKUs a reconciliation reads about 900,000 balances every 15
//! minutes, and building a `serde_json::Value` map per row (and one per expanded child) under
//! the simulator's lock cost more than the client's whole read. The JSON is the same as
//! [`SimState::onhand_json`] rows inside [`envelope`]; a test below holds them equal for every
//! framework version, `onlyData`, expansion and `hasMore` mode.

use serde::Serialize;

use super::onhand::BalanceAt;
use super::*;

/// A `links` entry: `rel`, `href`, `name`, `kind`.
#[derive(Serialize)]
struct Link<'a> {
    rel: &'static str,
    href: &'a str,
    name: &'static str,
    kind: &'static str,
}

/// A collection envelope, as [`envelope`] builds it.
#[derive(Serialize)]
struct Collection<'a, T> {
    items: Vec<T>,
    count: usize,
    #[serde(rename = "hasMore", skip_serializing_if = "Option::is_none")]
    has_more: Option<bool>,
    limit: usize,
    offset: usize,
    #[serde(rename = "totalResults", skip_serializing_if = "Option::is_none")]
    total_results: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<[Link<'a>; 1]>,
}

/// An expanded child: a plain array before framework v3, a collection from v3.
#[derive(Serialize)]
#[serde(untagged)]
enum Child<'a, T> {
    Plain(Vec<T>),
    Paged(Collection<'a, T>),
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Lot<'a> {
    lot_number: &'a str,
    expiration_date: Option<String>,
    primary_quantity: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Serial<'a> {
    serial_number: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row<'a> {
    organization_id: i64,
    organization_code: &'a str,
    inventory_item_id: i64,
    item_number: &'a str,
    subinventory_code: &'a str,
    #[serde(rename = "PrimaryUOMCode")]
    primary_uom_code: &'a str,
    primary_quantity: Value,
    #[serde(rename = "lots", skip_serializing_if = "Option::is_none")]
    lots: Option<Child<'a, Lot<'a>>>,
    #[serde(rename = "serials", skip_serializing_if = "Option::is_none")]
    serials: Option<Child<'a, Serial<'a>>>,
    #[serde(rename = "links", skip_serializing_if = "Option::is_none")]
    links: Option<[Link<'a>; 1]>,
}

impl SimState {
    /// The page of `rows` (`(org, item, sub)`, from [`SimState::onhand_selection`]) of a
    /// collection of `total`, as JSON bytes.
    pub(super) fn onhand_page_json(&self, rows: &[BalanceAt], total: usize, p: &ListParams, r: &ApiRequest) -> Vec<u8> {
        let hrefs: Vec<String> = rows
            .iter()
            .map(|&(o, item, sub)| {
                format!(
                    "{}/inventoryOnhandBalances/{}",
                    r.base,
                    uniq_id(self.orgs[o].id, self.master.items[item].id, sub)
                )
            })
            .collect();
        let children: Vec<(String, String)> = hrefs
            .iter()
            .map(|h| (format!("{h}/child/lots"), format!("{h}/child/serials")))
            .collect();
        let items: Vec<Row<'_>> = rows
            .iter()
            .zip(hrefs.iter().zip(&children))
            .map(|(&(o, item, sub), (href, (lots_href, serials_href)))| {
                self.onhand_row(o, item, sub, p, r, href, lots_href, serials_href)
            })
            .collect();
        let count = items.len();
        let self_href = format!("{}/inventoryOnhandBalances", r.base);
        let page = Collection {
            items,
            count,
            has_more: match r.lies {
                HasMoreLies::None => Some(p.offset + count < total),
                HasMoreLies::TrueOnLastPage => Some(true),
                HasMoreLies::Omit => None,
            },
            limit: p.limit,
            offset: p.offset,
            total_results: p.total_results.then_some(total),
            links: (!p.only_data).then(|| [collection_link(&self_href)]),
        };
        // Why no error path: every field is a string, a number or an already-built `Value`.
        serde_json::to_vec(&page).unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn onhand_row<'a>(
        &'a self,
        org: usize,
        item: usize,
        sub: usize,
        p: &ListParams,
        r: &ApiRequest,
        href: &'a str,
        lots_href: &'a str,
        serials_href: &'a str,
    ) -> Row<'a> {
        let o = &self.orgs[org];
        let it = &self.master.items[item];
        let bal = o.bal(item, sub);
        let lots = p.expands("lots").then(|| {
            let rows = bal
                .into_iter()
                .flat_map(|b| &b.lots)
                .map(|(lot, q)| Lot {
                    lot_number: lot,
                    expiration_date: o
                        .lots
                        .get(&(item as u32, lot.clone()))
                        .map(|d| d.format("%Y-%m-%d").to_string()),
                    primary_quantity: num(*q),
                })
                .collect();
            self.child(rows, r, p.only_data, lots_href)
        });
        let serials = p.expands("serials").then(|| {
            let rows = bal
                .into_iter()
                .flat_map(|b| &b.serials)
                .map(|s| Serial { serial_number: s })
                .collect();
            self.child(rows, r, p.only_data, serials_href)
        });
        Row {
            organization_id: o.id,
            organization_code: &o.code,
            inventory_item_id: it.id,
            item_number: &it.number,
            subinventory_code: SUBINVENTORIES[sub],
            primary_uom_code: &it.uom,
            primary_quantity: num(bal.map_or(Decimal::ZERO, |b| b.qty)),
            lots,
            serials,
            links: (!p.only_data).then_some([Link {
                rel: "self",
                href,
                name: "inventoryOnhandBalances",
                kind: "item",
            }]),
        }
    }

    /// An expanded child as [`SimState::child_value`] shows it.
    fn child<'a, T>(&self, mut rows: Vec<T>, r: &ApiRequest, only_data: bool, href: &'a str) -> Child<'a, T> {
        if r.framework_version < PAGED_CHILDREN_FROM {
            return Child::Plain(rows);
        }
        let total = rows.len();
        let limit = self.settings.default_limit;
        rows.truncate(limit);
        let count = rows.len();
        Child::Paged(Collection {
            items: rows,
            count,
            has_more: Some(count < total),
            limit,
            offset: 0,
            total_results: None,
            links: (!only_data).then(|| [collection_link(href)]),
        })
    }
}

fn collection_link(href: &str) -> Link<'_> {
    Link {
        rel: "self",
        href,
        name: "",
        kind: "collection",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::SimConfig;

    fn request(framework_version: u32, lies: HasMoreLies, query: &[(&str, &str)]) -> ApiRequest {
        ApiRequest {
            method: "GET".into(),
            segments: vec!["inventoryOnhandBalances".into()],
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: None,
            base: "http://sim/fscmRestApi/resources/11.13.18.05".into(),
            lies,
            stage_only: false,
            framework_version,
        }
    }

    #[test]
    fn typed_pages_are_the_same_json_as_the_value_built_ones() {
        let config = SimConfig {
            seed: sim_seed::SeedConfig {
                dcs: 2,
                items: 2_000,
                ..sim_seed::SeedConfig::default()
            },
            ..SimConfig::default()
        };
        let settings = Settings {
            default_limit: config.default_limit,
            max_limit: config.max_limit,
            rules: Rules {
                today: config.seed.today,
                max_serials: config.max_serials_per_txn,
                allow_negative: config.allow_negative_onhand,
            },
            concurrent_delay: config.concurrent_delay,
        };
        let sim = SimState::new(&sim_seed::generate(&config.seed), settings);
        let queries: [&[(&str, &str)]; 5] = [
            &[
                ("q", "OrganizationCode=DC01"),
                ("expand", "lots,serials"),
                ("limit", "500"),
                ("offset", "0"),
                ("totalResults", "true"),
            ],
            &[
                ("q", "OrganizationCode=DC02"),
                ("expand", "all"),
                ("limit", "300"),
                ("offset", "700"),
                ("onlyData", "true"),
            ],
            &[("q", "OrganizationCode=DC01"), ("limit", "25")],
            &[("expand", "lots"), ("limit", "499"), ("offset", "123456789")],
            &[("q", "ItemNumber=NOT-AN-ITEM")],
        ];
        let (mut compared, mut lots, mut serials) = (0, 0, 0);
        for fv in [2, PAGED_CHILDREN_FROM, 9] {
            for lies in [HasMoreLies::None, HasMoreLies::TrueOnLastPage, HasMoreLies::Omit] {
                for q in queries {
                    let r = request(fv, lies, q);
                    let typed = sim.list_onhand(&r).unwrap().json().unwrap();
                    let reference = sim.list_onhand_value(&r).unwrap();
                    assert_eq!(typed, reference, "framework {fv}, {lies:?}, {q:?}");
                    compared += typed["count"].as_u64().unwrap();
                    for row in typed["items"].as_array().unwrap() {
                        let n = |c: &str| match &row[c] {
                            Value::Array(a) => a.len(),
                            Value::Object(o) => o["items"].as_array().map_or(0, Vec::len),
                            _ => 0,
                        };
                        lots += n("lots");
                        serials += n("serials");
                    }
                }
            }
        }
        // The comparison covered real rows, lots and serials, not only empty pages.
        assert!(
            compared > 1000 && lots > 100 && serials > 100,
            "{compared} rows, {lots} lots, {serials} serials compared"
        );
    }
}
