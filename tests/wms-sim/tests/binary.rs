//! The `wms-sim` binary announces its URL on the first stdout line and serves the contract.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_url_first_and_serves_with_the_given_key() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_wms-sim"))
            .args([
                "--port",
                "0",
                "--dcs",
                "2",
                "--items",
                "100",
                "--api-key",
                "k-123",
                "--seed",
                "7",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {first:?}"));
    assert!(url.starts_with("http://127.0.0.1:"));

    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{url}/v1/dcs"))
        .header("X-Api-Key", "k-123")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"items": ["DC01", "DC02"]}));
    let denied = http
        .get(format!("{url}/v1/dcs"))
        .header("X-Api-Key", "wms-sim-key")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), reqwest::StatusCode::UNAUTHORIZED);
}
