//! Adaptive bound on Fusion requests in flight, one per [`super::HttpFusionClient`] (one per
//! pod), shared by every DC and task using that client.
//!
//! Oracle publishes no rate or concurrency limit for a pod, so the client learns one: it starts
//! at [`AdaptiveSettings::initial`], adds one request in flight after each round trip's worth
//! of answers while no 429/503 arrives and latency stays flat, and on a 429 or 503 cuts the
//! limit to [`AdaptiveSettings::backoff`] of itself (additive increase, multiplicative
//! decrease), never above [`AdaptiveSettings::ceiling`] nor below 1.
//!
//! Three refinements keep it from oscillating around the pod's limit:
//! - only answers to requests sent at the current limit count towards the next step, so a
//!   step is earned by the new level holding, not by requests sent before it;
//! - one cut per round trip: a refusal of a request sent before the last cut says nothing new
//!   (the limit was already lowered), so a burst of refusals cuts once, not once each;
//! - after a refusal at limit `w`, growth back up to `w - 1` is fast (one step per round trip)
//!   but the step to `w` again waits for [`AdaptiveSettings::probe_successes`] answers, so
//!   probing a limit the pod already refused costs at most one refused request in that many.
//!   Reaching past `w` without a refusal means the pod's capacity grew; growth is fast again.
//!
//! "Latency flat": a short-term moving average of answer times at most
//! [`AdaptiveSettings::latency_tolerance`] times a long-term one. The long-term average follows
//! the mix of requests (a page read costs more than a lookup), so a changing mix does not stop
//! growth for long, while a pod that queues requests (every answer slower) holds the limit
//! where it is.
//!
//! [`LimitCore`] is the pure state machine (deterministic tests drive it with chosen
//! latencies); [`AdaptiveLimiter`] puts it over a FIFO tokio semaphore.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Weight of a new sample in the short-term latency average.
const SHORT_WEIGHT: f64 = 0.1;
/// Weight of a new sample in the long-term latency average.
const LONG_WEIGHT: f64 = 0.01;

/// How the limit adapts. Built from [`super::FusionConfig`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveSettings {
    /// Limit at start (clamped to `1..=ceiling`).
    pub initial: usize,
    /// Highest limit ever used.
    pub ceiling: usize,
    /// Whether the limit adapts at all; `false` keeps it at `initial`.
    pub enabled: bool,
    /// Share of the limit kept after a refusal (0.9 by default), in `0.0..1.0`.
    pub backoff: f64,
    /// Answers needed before probing the limit at which the pod last refused again.
    pub probe_successes: u64,
    /// Largest ratio of short-term to long-term answer time still called flat.
    pub latency_tolerance: f64,
}

impl AdaptiveSettings {
    /// Defaults around a starting limit and a ceiling.
    pub fn new(initial: usize, ceiling: usize) -> Self {
        Self {
            initial,
            ceiling,
            enabled: true,
            backoff: 0.9,
            probe_successes: 100,
            latency_tolerance: 2.0,
        }
    }

    fn ceiling(&self) -> usize {
        self.ceiling.max(1)
    }
}

/// What one answer says about the pod's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// An answer that was not a refusal; its time counts towards the latency averages.
    Answered,
    /// 429 or 503: the pod refused for load.
    Refused,
    /// Says nothing about capacity (a timeout, a lost connection, a client-side failure).
    Ignore,
}

/// The limiter's state machine, free of clocks and locks.
#[derive(Debug, Clone)]
pub struct LimitCore {
    settings: AdaptiveSettings,
    limit: usize,
    /// Answers counted towards the next step up.
    credit: u64,
    /// The limit at which the pod last refused, until the limit grows past it.
    refused_at: Option<usize>,
    /// Bumped by every change of the limit; a permit remembers the epoch it was granted in.
    epoch: u64,
    /// The epoch the last cut started: refusals of requests granted before it are not news.
    cut_epoch: u64,
    short: Option<f64>,
    long: Option<f64>,
    refusals: u64,
    answers: u64,
}

impl LimitCore {
    /// A core at `settings.initial` (within `1..=ceiling`).
    pub fn new(settings: AdaptiveSettings) -> Self {
        Self {
            limit: settings.initial.clamp(1, settings.ceiling()),
            settings,
            credit: 0,
            refused_at: None,
            epoch: 0,
            cut_epoch: 0,
            short: None,
            long: None,
            refusals: 0,
            answers: 0,
        }
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The current epoch, to be passed back with the signal of a request granted now.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Refusals (429/503) seen, and answers seen.
    pub fn counts(&self) -> (u64, u64) {
        (self.refusals, self.answers)
    }

    /// Learns from the answer to a request granted in `epoch` that took `elapsed`. Returns the
    /// new limit.
    pub fn observe(&mut self, signal: Signal, epoch: u64, elapsed: Duration) -> usize {
        match signal {
            Signal::Answered => self.answered(epoch, elapsed),
            Signal::Refused => self.refused(epoch),
            Signal::Ignore => {}
        }
        self.limit
    }

    fn answered(&mut self, epoch: u64, elapsed: Duration) {
        self.answers += 1;
        let sample = elapsed.as_secs_f64();
        let short = self.short.map_or(sample, |s| s + SHORT_WEIGHT * (sample - s));
        let long = self.long.map_or(sample, |l| l + LONG_WEIGHT * (sample - l));
        self.short = Some(short);
        self.long = Some(long);
        if !self.settings.enabled || epoch != self.epoch || short > long * self.settings.latency_tolerance {
            return;
        }
        self.credit += 1;
        let next = self.limit + 1;
        let needed = if self.refused_at == Some(next) {
            (self.limit as u64).max(self.settings.probe_successes)
        } else {
            self.limit as u64
        };
        if self.credit < needed || next > self.settings.ceiling() {
            return;
        }
        self.credit = 0;
        self.limit = next;
        self.epoch += 1;
        if self.refused_at.is_some_and(|w| next > w) {
            self.refused_at = None;
        }
    }

    fn refused(&mut self, epoch: u64) {
        self.refusals += 1;
        if !self.settings.enabled || epoch < self.cut_epoch {
            return;
        }
        self.refused_at = Some(self.limit);
        let kept = (self.limit as f64 * self.settings.backoff.clamp(0.0, 1.0)).floor() as usize;
        self.limit = kept.clamp(1, self.limit.saturating_sub(1).max(1));
        self.credit = 0;
        self.epoch += 1;
        self.cut_epoch = self.epoch;
    }
}

/// The adaptive bound over a FIFO semaphore: permits are added when the limit grows; when it
/// shrinks, free permits are withdrawn at once and busy ones as they come back.
#[derive(Debug)]
pub struct AdaptiveLimiter {
    permits: Semaphore,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    core: LimitCore,
    /// Permits in circulation beyond the limit, withdrawn as they are released.
    debt: usize,
}

/// One request's place in flight. Report how it went with [`Permit::finish`]; dropping it
/// unreported releases the place without learning anything.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a AdaptiveLimiter,
    inner: Option<SemaphorePermit<'a>>,
    epoch: u64,
    started: Instant,
}

impl AdaptiveLimiter {
    /// A limiter at `settings.initial`.
    pub fn new(settings: AdaptiveSettings) -> Self {
        let core = LimitCore::new(settings);
        Self {
            permits: Semaphore::new(core.limit()),
            state: Mutex::new(State { core, debt: 0 }),
        }
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        self.state().core.limit()
    }

    /// Refusals (429/503) and answers seen so far.
    pub fn counts(&self) -> (u64, u64) {
        self.state().core.counts()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a place in flight (first come, first served). `None` only if the limiter was
    /// closed, which this type never does.
    pub async fn acquire(&self) -> Option<Permit<'_>> {
        let inner = self.permits.acquire().await.ok()?;
        let epoch = self.state().core.epoch();
        Some(Permit {
            limiter: self,
            inner: Some(inner),
            epoch,
            started: Instant::now(),
        })
    }

    fn release(&self, permit: SemaphorePermit<'_>, signal: Signal, epoch: u64, elapsed: Duration) {
        let mut st = self.state();
        let before = st.core.limit();
        let after = st.core.observe(signal, epoch, elapsed);
        if after > before {
            let mut grow = after - before;
            let paid = grow.min(st.debt);
            st.debt -= paid;
            grow -= paid;
            self.permits.add_permits(grow);
        } else if after < before {
            let mut shrink = before - after;
            while shrink > 0 {
                match self.permits.try_acquire() {
                    Ok(p) => {
                        p.forget();
                        shrink -= 1;
                    }
                    Err(_) => break,
                }
            }
            st.debt += shrink;
        }
        if st.debt > 0 {
            st.debt -= 1;
            permit.forget();
        } else {
            drop(permit);
        }
        if after != before {
            tracing::debug!(from = before, to = after, "Fusion concurrency limit changed");
        }
    }
}

impl Permit<'_> {
    /// Releases the place and teaches the limiter what the answer said.
    pub fn finish(mut self, signal: Signal) {
        if let Some(p) = self.inner.take() {
            self.limiter.release(p, signal, self.epoch, self.started.elapsed());
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.inner.take() {
            self.limiter
                .release(p, Signal::Ignore, self.epoch, self.started.elapsed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTT: Duration = Duration::from_millis(100);

    fn core(initial: usize, ceiling: usize) -> LimitCore {
        LimitCore::new(AdaptiveSettings::new(initial, ceiling))
    }

    /// Answers `n` requests in the current epoch, all taking `rtt`.
    fn answer(c: &mut LimitCore, n: usize, rtt: Duration) {
        for _ in 0..n {
            let e = c.epoch();
            c.observe(Signal::Answered, e, rtt);
        }
    }

    #[test]
    fn grows_one_step_per_round_trip_while_nothing_is_refused() {
        let mut c = core(8, 64);
        answer(&mut c, 8, RTT);
        assert_eq!(c.limit(), 9);
        answer(&mut c, 9, RTT);
        assert_eq!(c.limit(), 10);
    }

    #[test]
    fn never_exceeds_the_ceiling() {
        let mut c = core(8, 12);
        answer(&mut c, 10_000, RTT);
        assert_eq!(c.limit(), 12);
        assert_eq!(core(50, 12).limit(), 12, "start clamped to the ceiling");
    }

    #[test]
    fn shrinks_on_refusal_once_per_epoch_and_never_below_one() {
        let mut c = core(20, 64);
        let e = c.epoch();
        c.observe(Signal::Refused, e, RTT);
        assert_eq!(c.limit(), 18);
        // The other requests of the same round trip come back refused too: no further cut.
        for _ in 0..10 {
            c.observe(Signal::Refused, e, RTT);
        }
        assert_eq!(c.limit(), 18);
        for _ in 0..100 {
            let e = c.epoch();
            c.observe(Signal::Refused, e, RTT);
        }
        assert_eq!(c.limit(), 1);
        assert_eq!(core(0, 64).limit(), 1, "start at least one");
    }

    #[test]
    fn a_small_limit_still_shrinks_by_at_least_one() {
        let mut c = core(3, 64);
        let e = c.epoch();
        c.observe(Signal::Refused, e, RTT);
        assert_eq!(c.limit(), 2);
    }

    #[test]
    fn probes_a_refused_limit_again_only_after_the_probe_budget() {
        let mut c = core(9, 64);
        let e = c.epoch();
        c.observe(Signal::Refused, e, RTT);
        assert_eq!(c.limit(), 8);
        answer(&mut c, 99, RTT);
        assert_eq!(c.limit(), 8, "9 was refused: wait for 100 answers");
        answer(&mut c, 1, RTT);
        assert_eq!(c.limit(), 9);
        // 9 held this time: the pod's capacity grew, so growth is fast again.
        answer(&mut c, 9, RTT);
        assert_eq!(c.limit(), 10);
    }

    #[test]
    fn recovers_fast_below_the_refused_limit() {
        let mut c = core(40, 64);
        let e = c.epoch();
        c.observe(Signal::Refused, e, RTT);
        assert_eq!(c.limit(), 36);
        answer(&mut c, 36 + 37 + 38, RTT);
        assert_eq!(c.limit(), 39);
    }

    #[test]
    fn holds_while_latency_rises_and_grows_again_once_it_settles() {
        let mut c = core(8, 64);
        answer(&mut c, 200, RTT);
        let before = c.limit();
        while c.limit() == before {
            answer(&mut c, 1, RTT);
        }
        let settled = c.limit();
        answer(&mut c, 50, RTT * 5);
        assert_eq!(
            c.limit(),
            settled,
            "every answer five times slower (the pod queues): hold"
        );
        answer(&mut c, 2_000, RTT * 5);
        assert!(c.limit() > settled, "a new normal is flat again");
    }

    #[test]
    fn disabled_keeps_the_initial_limit() {
        let mut c = LimitCore::new(AdaptiveSettings {
            enabled: false,
            ..AdaptiveSettings::new(8, 64)
        });
        answer(&mut c, 1_000, RTT);
        let e = c.epoch();
        c.observe(Signal::Refused, e, RTT);
        assert_eq!(c.limit(), 8);
    }

    #[test]
    fn converges_on_a_pod_that_refuses_beyond_n() {
        // Round-trip model: each round sends `limit` requests; beyond n are refused.
        for n in [8usize, 16, 32] {
            let mut c = core(8, 64);
            let (mut sent, mut refused, mut sum, mut rounds) = (0usize, 0usize, 0usize, 0usize);
            for round in 0..2_000 {
                let e = c.epoch();
                let l = c.limit();
                for i in 0..l {
                    if i < n {
                        c.observe(Signal::Answered, e, RTT);
                    } else {
                        c.observe(Signal::Refused, e, RTT);
                        refused += 1;
                    }
                }
                if round >= 500 {
                    sent += l;
                    sum += l;
                    rounds += 1;
                }
            }
            let mean = sum as f64 / rounds as f64;
            assert!((mean - n as f64).abs() <= 0.2 * n as f64, "n={n}: mean {mean}");
            assert!(refused as f64 <= 0.02 * sent as f64, "n={n}: {refused} of {sent}");
        }
    }

    #[tokio::test]
    async fn the_semaphore_follows_the_limit() {
        let l = AdaptiveLimiter::new(AdaptiveSettings::new(2, 64));
        let a = l.acquire().await.unwrap();
        let b = l.acquire().await.unwrap();
        assert_eq!(l.permits.available_permits(), 0);
        a.finish(Signal::Refused);
        assert_eq!(l.limit(), 1);
        assert_eq!(l.permits.available_permits(), 0, "the freed place was withdrawn");
        b.finish(Signal::Answered);
        assert_eq!(l.permits.available_permits(), 1);
        let c = l.acquire().await.unwrap();
        assert!(l.permits.try_acquire().is_err(), "one in flight at limit 1");
        c.finish(Signal::Answered);
        assert_eq!(
            l.limit(),
            1,
            "2 was refused: probing it again waits for the probe budget"
        );
        assert_eq!(l.permits.available_permits(), 1);

        let l = AdaptiveLimiter::new(AdaptiveSettings::new(1, 64));
        l.acquire().await.unwrap().finish(Signal::Answered);
        assert_eq!(l.limit(), 2, "one answer at limit 1 is a round trip");
        assert_eq!(l.permits.available_permits(), 2);
    }
}
