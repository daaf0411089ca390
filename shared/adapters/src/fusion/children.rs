//! Reading the rest of a paged child collection (`…/<resource>/{key}/child/<name>`).
//!
//! Why: with REST framework v3+ Fusion returns expanded children as collections of 25 rows
//! with `hasMore` (fact sheet §1). The child resource takes `limit`/`offset` like any
//! collection; reading stops on a page shorter than the limit (fact sheet §4), never on
//! `hasMore` alone.

use domain::ports::FusionError;
use serde::de::DeserializeOwned;

use super::wire::{parse, Collection};
use super::HttpFusionClient;

/// Guard against a child that never ends (a server that ignores `offset`): far above any real
/// balance (10,000 serials is the design's largest).
const MAX_CHILD_ROWS: usize = 1_000_000;

impl HttpFusionClient {
    /// Rows of the child collection at `href` from offset `from` to its end.
    pub(crate) async fn rest_of_child<T: DeserializeOwned>(
        &self,
        href: &str,
        from: usize,
    ) -> Result<Vec<T>, FusionError> {
        let path = self.relative_path(href)?;
        let limit = self.config().effective_page_size();
        let mut out = Vec::new();
        let mut offset = from;
        loop {
            let query = vec![
                ("limit".to_string(), limit.to_string()),
                ("offset".to_string(), offset.to_string()),
                ("onlyData".to_string(), "true".to_string()),
            ];
            let body = self.get_json(&path, query).await?;
            let page: Collection<T> = parse(&body, &path)?;
            let n = page.items.len();
            out.extend(page.items);
            offset += n;
            if n == 0 || n < limit.min(page.limit.filter(|l| *l > 0).unwrap_or(limit)) {
                return Ok(out);
            }
            if offset > MAX_CHILD_ROWS {
                return Err(FusionError::InvalidResponse(format!(
                    "{path}: more than {MAX_CHILD_ROWS} child rows; the server seems to ignore offset"
                )));
            }
        }
    }

    /// `href` relative to the REST base, for the transport. Fusion's links are absolute and may
    /// name the `latest` alias or another host name; the path after the version is kept.
    fn relative_path(&self, href: &str) -> Result<String, FusionError> {
        let base = self.api_base();
        if let Some(rest) = href.strip_prefix(base) {
            return Ok(rest.trim_start_matches('/').to_string());
        }
        let no_query = href.split('?').next().unwrap_or(href);
        no_query
            .split_once("/fscmRestApi/resources/")
            .and_then(|(_, tail)| tail.split_once('/'))
            .map(|(_version, rest)| rest.to_string())
            .filter(|rest| !rest.is_empty())
            .ok_or_else(|| FusionError::InvalidResponse(format!("link {href:?} is not a Fusion REST resource")))
    }
}

/// Where the rest of a paged child is read: its own `self` link, else the parent's `self` link
/// and `/child/<name>`. The client never builds a resource key itself (fact sheet §1); with no
/// link the read is refused rather than partial.
pub(crate) fn child_link(own: Option<String>, parent: Option<&str>, name: &str) -> Result<String, FusionError> {
    own.or_else(|| parent.map(|p| format!("{}/child/{name}", p.trim_end_matches('/'))))
        .ok_or_else(|| {
            FusionError::InvalidResponse(format!(
                "Fusion paged the expanded {name} child but gave no link to read the rest"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::super::{Credentials, FusionConfig, HttpFusionClient};
    use secrecy::SecretString;

    #[test]
    fn links_become_paths_under_the_rest_base() {
        let c = HttpFusionClient::new(FusionConfig::new(
            "http://127.0.0.1:9",
            Credentials::Basic {
                user: "u".into(),
                password: SecretString::from("p"),
            },
        ))
        .unwrap();
        let base = c.api_base().to_string();
        assert_eq!(
            c.relative_path(&format!("{base}/inventoryOnhandBalances/ABC/child/serials"))
                .unwrap(),
            "inventoryOnhandBalances/ABC/child/serials"
        );
        assert_eq!(
            c.relative_path("https://pod.example.com/fscmRestApi/resources/latest/x/1/child/lots?offset=25")
                .unwrap(),
            "x/1/child/lots"
        );
        assert!(c.relative_path("https://evil.example.com/other").is_err());
    }
}
