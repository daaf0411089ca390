//! The fault plan: hour-long windows (Fusion outage, throttling, rejected credentials, a
//! stalled transaction manager) placed by the seed before the run, and the Fusion simulator's
//! fault settings for a given minute.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::settings::Settings;

/// A kind of hour-long fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WindowKind {
    /// Every Fusion request answered 503.
    Outage,
    /// Fusion answers 429 beyond 2 requests in flight.
    Throttling,
    /// Every Fusion request answered 401.
    Credentials,
    /// Fusion's transaction manager does not run; staged rows wait.
    ProcessingStall,
}

impl WindowKind {
    /// A short label (CSV, chart).
    pub fn label(self) -> &'static str {
        match self {
            WindowKind::Outage => "outage",
            WindowKind::Throttling => "throttling",
            WindowKind::Credentials => "credentials",
            WindowKind::ProcessingStall => "processing stall",
        }
    }
}

/// One fault window, in minutes from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// What.
    pub kind: WindowKind,
    /// First minute.
    pub start: i64,
    /// Minute it ends (exclusive).
    pub end: i64,
}

/// How many events a rate gives over `days`: the whole part, plus one more with the
/// probability of the fraction.
pub fn count(rng: &mut ChaCha8Rng, per_day: f64, days: f64) -> usize {
    let n = (per_day * days).max(0.0);
    let whole = n.floor();
    let extra = usize::from(rng.random_bool((n - whole).clamp(0.0, 1.0)));
    whole as usize + extra
}

/// Places every window of the run: each starts on a whole hour after the first two hours
/// (the first sync has run) and lasts an hour.
pub fn plan(settings: &Settings, rng: &mut ChaCha8Rng) -> Vec<Window> {
    let days = f64::from(settings.days);
    let hours = i64::from(settings.days) * 24;
    let mut out = Vec::new();
    for (kind, rate) in [
        (WindowKind::Outage, settings.outages),
        (WindowKind::Throttling, settings.throttling),
        (WindowKind::Credentials, settings.credential_rejections),
        (WindowKind::ProcessingStall, settings.processing_stalls),
    ] {
        for _ in 0..count(rng, rate, days) {
            if hours <= 3 {
                break;
            }
            let h = rng.random_range(2..hours - 1);
            out.push(Window {
                kind,
                start: h * 60,
                end: h * 60 + 60,
            });
        }
    }
    out.sort_by_key(|w| (w.start, w.kind));
    out
}

/// Whether a window of `kind` is open at `minute`.
pub fn active(windows: &[Window], kind: WindowKind, minute: i64) -> bool {
    windows
        .iter()
        .any(|w| w.kind == kind && w.start <= minute && minute < w.end)
}

/// The Fusion simulator's faults at `minute`: the run's constant processing failures and
/// 408s, plus whatever window is open. No latency: simulated time does not pass during a
/// request, and wall time spent waiting would only slow the run.
pub fn fusion_faults(settings: &Settings, windows: &[Window], minute: i64) -> fusion_sim::Faults {
    fusion_sim::Faults {
        retry_after_secs: 0,
        rng_seed: settings.seed ^ minute as u64,
        process_fail_rate: settings.process_fail_rate,
        online_408_rate: settings.online_408_rate,
        error_503_rate: if active(windows, WindowKind::Outage, minute) {
            1.0
        } else {
            0.0
        },
        max_in_flight: active(windows, WindowKind::Throttling, minute).then_some(2),
        reject_credentials: active(windows, WindowKind::Credentials, minute),
        ..fusion_sim::Faults::default()
    }
}
