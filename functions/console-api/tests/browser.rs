//! The web page in a real browser: Debian's headless chromium driven through chromedriver
//! (`scripts/test.sh` installs both when missing). Signs in with the development login, opens
//! DC01's dashboard, resolves a review task by adjustment, releases a hold and retries a failed
//! sync, checking each outcome on the page and in the stores. Screenshots of the dashboard and
//! of a task's detail go to `target/console-screenshots/`.
//!
//! `CHROMEDRIVER` and `CHROMIUM` override the binaries (default: `chromedriver`,
//! `/usr/bin/chromium`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use anyhow::{bail, Context as _, Result};
use common::{dc, seg, task_key, Stack};
use domain::console::{DcScope, Principal, Role, TaskStatus, UserId};
use domain::ledger::SyncState;
use domain::ports::WarehouseSystem;
use fantoccini::{ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// chromedriver, killed when the test ends however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn shots() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("../console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start_driver() -> Result<(Driver, String)> {
    let port = free_port();
    let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = Command::new(&bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("{bin} not found: install chromium and chromium-driver (scripts/test.sh does)"))?;
    let driver = Driver(child);
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return Ok((driver, url));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("chromedriver did not start on {url}")
}

/// The text of the first element matching `css`, waiting for it: a click that submits a form
/// returns before the answer page has loaded (CI's slower machine showed it), so each read
/// after an action waits for the element rather than racing the navigation.
async fn text_of(c: &fantoccini::Client, css: &str) -> String {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
        .text()
        .await
        .unwrap()
}

/// The outcome line an action leaves on the page: waits for any flash, then requires the
/// success kind, so a refused action fails with the page's own error text.
async fn flash_ok(c: &fantoccini::Client) -> String {
    let el = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".flash"))
        .await
        .unwrap_or_else(|e| panic!("no outcome line appeared: {e}"));
    let class = el.attr("class").await.unwrap().unwrap_or_default();
    let text = el.text().await.unwrap();
    assert!(class.split_whitespace().any(|c| c == "ok"), "the action failed: {text}");
    text
}

/// Clicks the element with id `id` once it is on the page.
async fn click_id(c: &fantoccini::Client, id: &str) -> Result<()> {
    click(c, Locator::Id(id)).await
}

/// Clicks the first element `at` finds once it is on the page.
async fn click(c: &fantoccini::Client, at: Locator<'_>) -> Result<()> {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(at)
        .await?
        .click()
        .await?;
    Ok(())
}

/// Waits until the browser is on a page whose path ends with `suffix`, for pages whose
/// elements look like the previous page's (two tables).
async fn wait_path(c: &fantoccini::Client, suffix: &str) -> Result<()> {
    for _ in 0..200 {
        if c.current_url().await?.path().ends_with(suffix) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("never reached a page ending {suffix}")
}

#[tokio::test]
async fn an_operator_resolves_a_task_releases_a_hold_and_retries_a_sync_in_the_browser() {
    let s = Stack::spawn(2).await;
    let (_driver, url) = start_driver().await.unwrap();
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"]
        }
    });
    let c = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&url)
        .await
        .unwrap();
    let outcome = run(&s, &c).await;
    let _ = c.close().await;
    outcome.unwrap();
}

async fn run(s: &Stack, c: &fantoccini::Client) -> Result<()> {
    let d = dc("DC01");
    // Sign in with the development login, as one person holding the three roles.
    c.goto(&format!("{}/ui", s.base)).await?;
    assert!(
        c.current_url().await?.path().ends_with("/ui/login"),
        "unauthenticated goes to sign-in"
    );
    let user = c.find(Locator::Id("dev_user")).await?;
    user.clear().await?;
    user.send_keys("ann").await?;
    click_id(c, "role-manager").await?;
    click_id(c, "role-integration").await?;
    click_id(c, "dev_login").await?;
    click(c, Locator::LinkText("DC01")).await?;

    // The dashboard.
    assert_eq!(text_of(c, "#open-tasks").await, "2");
    assert_eq!(text_of(c, "#active-holds").await, "2");
    assert_eq!(text_of(c, "#failed").await, "2");
    assert!(c.source().await?.contains("<svg"), "the accuracy chart");
    std::fs::write(shots().join("dashboard.png"), c.screenshot().await?)?;

    // A task's detail, then resolve it by adjustment.
    click(c, Locator::Css("header a[href$='/tasks']")).await?;
    let key = task_key("DC01", 0).to_string();
    click(c, Locator::Css(&format!("a[href$='/tasks/{}']", seg(&key)))).await?;
    assert_eq!(text_of(c, "#fig-wms").await, "110 EA");
    assert_eq!(text_of(c, "#fig-fusion").await, "100 EA");
    std::fs::write(shots().join("task-detail.png"), c.screenshot().await?)?;
    click_id(c, "how-adjust").await?;
    click_id(c, "resolve").await?;
    let flash = flash_ok(c).await;
    assert!(
        flash.starts_with("Adjustment ") && flash.ends_with("task closed."),
        "{flash}"
    );
    let ann = Principal::new(UserId::parse("ann")?, Role::Supervisor, DcScope::All);
    let detail = s
        .console
        .service
        .task_detail(Some(&ann), &d, &task_key("DC01", 0))
        .await?;
    assert_eq!(detail.task.state.status, TaskStatus::Closed);
    let adj = detail.task.state.adjustment.context("the task names its adjustment")?;
    assert_eq!(s.ports().ledger.state_of(&d, adj.as_str()), Some(SyncState::Synced));
    assert_eq!(s.ports().fusion.posts_of(adj.as_str()).len(), 1);

    // Release a hold with a reason.
    click(c, Locator::Css("header a[href$='/holds']")).await?;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("rr-SEED-H0"))
        .await?
        .send_keys("recounted: the stock is right")
        .await?;
    click_id(c, "release-SEED-H0").await?;
    assert_eq!(flash_ok(c).await, "Hold on SEED-H0 released.");
    assert!(c.find(Locator::Id("hold-SEED-H0")).await.is_err(), "gone from the list");
    let holds = s.ports().wms.holds(&d).await?;
    assert!(
        holds.iter().all(|h| h.item.as_str() != "SEED-H0"),
        "released at the WMS"
    );

    // Retry a failed sync.
    click(c, Locator::Css("header a[href$='/txns']")).await?;
    click_id(c, "retry-SEED-F0").await?;
    assert_eq!(flash_ok(c).await, "Transaction SEED-F0 is pending sync again.");
    assert_eq!(s.ports().ledger.state_of(&d, "SEED-F0"), Some(SyncState::PendingSync));

    // Each action is in the audit trail the page shows.
    click(c, Locator::Css("header a[href$='/audit']")).await?;
    wait_path(c, "/audit").await?;
    let audit = text_of(c, "main table tbody").await;
    assert_eq!(audit.lines().filter(|l| l.contains("ann")).count(), 3, "{audit}");
    std::fs::write(shots().join("audit.png"), c.screenshot().await?)?;
    Ok(())
}
