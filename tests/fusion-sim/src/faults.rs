//! Fault injection: rates drawn from a seeded RNG plus exact scripted faults for the next N
//! calls of an endpoint. Settable at start ([`crate::SimConfig::faults`]) and at runtime
//! (`PUT /admin/faults`).
//!
//! Besides request faults, [`Faults`] covers the pod's shape: resources that are missing or
//! forbidden (`missing_resources`, `forbidden_resources`), and failures of the transaction
//! manager when it processes staged rows (`process_fail_rate`, `fail_processing_refs`; drawn
//! from an RNG of their own, so they repeat whatever the request traffic).

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::rest::{ApiError, HasMoreLies};

/// Fault settings. Every rate is a share of requests in `0.0..=1.0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// How long every Fusion API request takes, in milliseconds: a write waits this long and
    /// is then applied; a read is answered this long after it arrived (later only when its
    /// answer takes longer to build).
    pub latency_ms: u64,
    /// Requests allowed per wall-clock second before answering 429 (`None` = unlimited).
    pub rate_limit_per_sec: Option<u32>,
    /// Fusion API requests allowed in flight at once; one arriving beyond is answered 429 at
    /// once, before any latency (`None` = unlimited). Refusals are counted under
    /// [`CONCURRENCY_REFUSED`]; `RunningSim::peak_in_flight` tells the most seen at once.
    ///
    /// Why: Oracle publishes no concurrency limit for a pod; this models the strictest shape one
    /// could take, against which the client's adaptive limit is measured.
    pub max_in_flight: Option<u32>,
    /// `Retry-After` seconds sent with 429 and 503.
    pub retry_after_secs: u64,
    /// Share of requests answered 500.
    pub error_500_rate: f64,
    /// Share of requests answered 503 (with `Retry-After`).
    pub error_503_rate: f64,
    /// Share of requests that hang for `timeout_hang_ms` before being answered normally.
    pub timeout_rate: f64,
    /// How long a "timeout" request hangs.
    pub timeout_hang_ms: u64,
    /// Share of requests whose connection is dropped without an answer.
    pub reset_rate: f64,
    /// Share of Online-mode staged POSTs answered 408 while the row stays staged (ProcessFlag 1),
    /// as Fusion 24A+ does when an Online call risks a 504.
    pub online_408_rate: f64,
    /// Share of staged POSTs processed fully, after which the connection is dropped unanswered.
    pub accept_then_drop_rate: f64,
    /// How collection envelopes misreport `hasMore`.
    pub hasmore_lies: HasMoreLies,
    /// Seed of the RNG the rates draw from; reseeded whenever faults are set.
    pub rng_seed: u64,
    /// Scripted faults, consumed in order of the list for the next matching calls.
    pub fail_next: Vec<ScriptedFault>,
    /// Share of staged rows the transaction manager fails when it processes them (Background
    /// and Concurrent processing, and Online rows left staged by a 408): ProcessFlag 3 with
    /// [`PROCESS_FAIL_CODE`] and [`PROCESS_FAIL_EXPLANATION`]. Drawn per row, in
    /// TransactionInterfaceId order, from an RNG seeded by `rng_seed`.
    pub process_fail_rate: f64,
    /// Staged rows whose `TransactionReference` or `SourceHeaderId` equals one of these fail
    /// at processing with [`PROCESS_FAIL_SCRIPTED_CODE`] (every time, while listed).
    pub fail_processing_refs: Vec<String>,
    /// Resource names (first path segment, e.g. `"unitsOfMeasure"`) answered 404 "The
    /// requested resource … doesn't exist." for every method, as on a pod where the resource
    /// isn't enabled.
    pub missing_resources: Vec<String>,
    /// Resource names answered 403 for every method, as when the user's roles don't grant them
    /// (fact sheet §1: 403 = authenticated but lacking the privilege).
    pub forbidden_resources: Vec<String>,
    /// Every API request is answered 401 as if the integration user's password had been
    /// changed or had expired (default false). Login requests of the OAuth2 token endpoint
    /// are not affected; the tokens they give are refused like Basic credentials.
    pub reject_credentials: bool,
}

/// Stats key counting requests refused by [`Faults::max_in_flight`].
pub const CONCURRENCY_REFUSED: &str = "CONCURRENCY refused";

/// `ErrorCode` of a row failed by [`Faults::process_fail_rate`]. Unsure (fact sheet §3): real
/// ERROR_CODE values aren't documented; the simulator's codes only need to be recognisable.
pub const PROCESS_FAIL_CODE: &str = "INV-PROC-RANDOM";

/// `ErrorCode` of a row failed by [`Faults::fail_processing_refs`].
pub const PROCESS_FAIL_SCRIPTED_CODE: &str = "INV-PROC-SCRIPTED";

/// `ErrorExplanation` of an injected processing failure.
pub const PROCESS_FAIL_EXPLANATION: &str = "The transaction processor could not complete the transaction: \
the item's material status does not allow this transaction.";

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            rate_limit_per_sec: None,
            max_in_flight: None,
            retry_after_secs: 1,
            error_500_rate: 0.0,
            error_503_rate: 0.0,
            timeout_rate: 0.0,
            timeout_hang_ms: 30_000,
            reset_rate: 0.0,
            online_408_rate: 0.0,
            accept_then_drop_rate: 0.0,
            hasmore_lies: HasMoreLies::None,
            rng_seed: 7,
            fail_next: Vec::new(),
            process_fail_rate: 0.0,
            fail_processing_refs: Vec::new(),
            missing_resources: Vec::new(),
            forbidden_resources: Vec::new(),
            reject_credentials: false,
        }
    }
}

/// Fails the next `count` calls of `endpoint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptedFault {
    /// Endpoint key as counted in stats (`"POST inventoryStagedTransactions"`) or a bare
    /// resource name (`"inventoryStagedTransactions"`, any method).
    pub endpoint: String,
    /// An HTTP status (e.g. `503`; `408` on a staged POST stages without processing) or one of
    /// `"reset"`, `"drop_after_accept"`, `"timeout"`, `"408"`.
    pub status: FaultStatus,
    /// How many calls to fail.
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// The `status` of a scripted fault: a number or a keyword.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FaultStatus {
    /// Answer with this status and a Fusion error body.
    Code(u16),
    /// `"reset"`, `"drop_after_accept"`, `"timeout"` or a status as a string.
    Word(String),
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    /// Nothing: handle normally.
    None,
    /// Answer with this status (429/503 carry `Retry-After`).
    Status(u16),
    /// Drop the connection without answering.
    Reset,
    /// Hang this long, then handle normally.
    Hang(Duration),
    /// Online staged POST: stage the row without processing and answer 408.
    Stage408,
    /// Handle fully, then drop the connection.
    DropAfterAccept,
}

impl Faults {
    /// The answer for a request to `resource` when it is listed missing (404) or forbidden
    /// (403); `None` when it is served.
    pub fn resource_refusal(&self, resource: &str) -> Option<ApiError> {
        if self.missing_resources.iter().any(|r| r == resource) {
            // Unsure (fact sheet §1, §5): the exact text a pod answers for a resource that isn't
            // enabled isn't documented; the simulator uses its usual 404 wording.
            return Some(ApiError::not_found(format!(
                "The requested resource {resource} doesn't exist."
            )));
        }
        if self.forbidden_resources.iter().any(|r| r == resource) {
            return Some(ApiError::new(
                403,
                "AUTH-403",
                format!("The user doesn't have the privileges for the resource {resource}."),
            ));
        }
        None
    }
}

/// Mixed into `rng_seed` for the processing-failure RNG, so it differs from the request RNG.
const PROCESS_RNG_SALT: u64 = 0x0050_524F_4345_5353;

/// The runtime fault state: settings, RNGs and the per-second rate window.
#[derive(Debug)]
pub struct FaultEngine {
    faults: Faults,
    rng: ChaCha8Rng,
    process_rng: ChaCha8Rng,
    window_start: Instant,
    window_count: u32,
}

impl FaultEngine {
    /// A new engine using `faults`.
    pub fn new(faults: Faults) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(faults.rng_seed);
        let process_rng = ChaCha8Rng::seed_from_u64(faults.rng_seed ^ PROCESS_RNG_SALT);
        Self {
            faults,
            rng,
            process_rng,
            window_start: Instant::now(),
            window_count: 0,
        }
    }

    /// Current settings (scripted faults show what is left).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the settings and reseeds the RNG.
    pub fn set(&mut self, faults: Faults) {
        *self = Self::new(faults);
    }

    fn roll(&mut self, rate: f64) -> bool {
        rate > 0.0 && self.rng.random::<f64>() < rate
    }

    /// Whether the transaction manager fails a staged row whose `TransactionReference` and
    /// `SourceHeaderId` (as text) are `refs`: `Some((ErrorCode, ErrorExplanation))` if so.
    /// Scripted references win; otherwise one draw of `process_fail_rate`.
    pub fn processing_failure(&mut self, refs: &[Option<String>]) -> Option<(String, String)> {
        let scripted = refs
            .iter()
            .flatten()
            .any(|r| self.faults.fail_processing_refs.iter().any(|f| f == r));
        let code = if scripted {
            PROCESS_FAIL_SCRIPTED_CODE
        } else {
            let rate = self.faults.process_fail_rate;
            if !(rate > 0.0 && self.process_rng.random::<f64>() < rate) {
                return None;
            }
            PROCESS_FAIL_CODE
        };
        Some((code.to_string(), PROCESS_FAIL_EXPLANATION.to_string()))
    }

    /// Decides the fault for one request to `endpoint` (`"METHOD resource"`), `resource` being
    /// its first path segment. `online_staged_post` marks an Online-mode staged POST.
    pub fn decide(&mut self, endpoint: &str, resource: &str, staged_post: bool, online: bool) -> Injected {
        if let Some(limit) = self.faults.rate_limit_per_sec {
            let now = Instant::now();
            if now.duration_since(self.window_start) >= Duration::from_secs(1) {
                self.window_start = now;
                self.window_count = 0;
            }
            self.window_count += 1;
            if self.window_count > limit {
                return Injected::Status(429);
            }
        }
        if let Some(pos) = self
            .faults
            .fail_next
            .iter()
            .position(|f| f.count > 0 && (f.endpoint == endpoint || f.endpoint == resource))
        {
            let f = &mut self.faults.fail_next[pos];
            f.count -= 1;
            let status = f.status.clone();
            if f.count == 0 {
                self.faults.fail_next.remove(pos);
            }
            return match status {
                FaultStatus::Code(408) if staged_post => Injected::Stage408,
                FaultStatus::Code(c) => Injected::Status(c),
                FaultStatus::Word(w) => match w.to_ascii_lowercase().as_str() {
                    "reset" => Injected::Reset,
                    "drop_after_accept" | "accept_then_drop" => Injected::DropAfterAccept,
                    "timeout" => Injected::Hang(Duration::from_millis(self.faults.timeout_hang_ms)),
                    "408" if staged_post => Injected::Stage408,
                    other => other.parse().map_or(Injected::Status(500), Injected::Status),
                },
            };
        }
        if self.roll(self.faults.reset_rate) {
            return Injected::Reset;
        }
        if self.roll(self.faults.error_500_rate) {
            return Injected::Status(500);
        }
        if self.roll(self.faults.error_503_rate) {
            return Injected::Status(503);
        }
        if self.roll(self.faults.timeout_rate) {
            return Injected::Hang(Duration::from_millis(self.faults.timeout_hang_ms));
        }
        if staged_post {
            if online && self.roll(self.faults.online_408_rate) {
                return Injected::Stage408;
            }
            if self.roll(self.faults.accept_then_drop_rate) {
                return Injected::DropAfterAccept;
            }
        }
        Injected::None
    }
}
