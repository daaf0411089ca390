//! The round-trip minimum: the least wall time the counted requests could take at the
//! concurrency allowed, had invsync spent no time of its own and waited on nothing else.
//!
//! Each DC runs in its own invocation, in parallel with the others; within a DC at most
//! `workers` transactions are in progress at once (`SyncSettings::concurrency`), each waiting
//! on one request at a time, and at most `fusion_in_flight` of those requests go to Fusion. So
//! one DC needs at least (sum of its requests' latencies) / workers, and at least (its Fusion
//! requests x Fusion latency) / min(workers, fusion_in_flight). The slowest DC sets the cycle;
//! requests are counted for all DCs together, so each DC is given its share of transactions.

use std::time::Duration;

/// Requests of one kind, all DCs together, and the latency of each.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// How many.
    pub count: u64,
    /// Latency of one.
    pub latency: Duration,
    /// Whether it is a Fusion request (bounded by the Fusion in-flight limit).
    pub fusion: bool,
}

/// What the minimum depends on.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Every kind of request counted.
    pub kinds: Vec<Kind>,
    /// Transactions per DC.
    pub txns_per_dc: Vec<usize>,
    /// Transactions in progress at once within a DC.
    pub workers: usize,
    /// Fusion requests in flight at once within a DC (its client's ceiling).
    pub fusion_in_flight: usize,
}

/// The round-trip minimum of the slowest DC.
pub fn round_trip_minimum(shape: &Shape) -> Duration {
    let total: usize = shape.txns_per_dc.iter().sum();
    let largest = shape.txns_per_dc.iter().copied().max().unwrap_or(0);
    if total == 0 {
        return Duration::ZERO;
    }
    let share = largest as f64 / total as f64;
    let sum = |fusion_only: bool| -> f64 {
        shape
            .kinds
            .iter()
            .filter(|k| !fusion_only || k.fusion)
            .map(|k| k.count as f64 * k.latency.as_secs_f64())
            .sum::<f64>()
            * share
    };
    let workers = shape.workers.max(1) as f64;
    let fusion_lanes = shape.workers.min(shape.fusion_in_flight).max(1) as f64;
    Duration::from_secs_f64((sum(false) / workers).max(sum(true) / fusion_lanes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(count: u64, ms: u64, fusion: bool) -> Kind {
        Kind {
            count,
            latency: Duration::from_millis(ms),
            fusion,
        }
    }

    #[test]
    fn workers_bound_the_slowest_dc() {
        // Two DCs of 100 transactions; per DC 100 Fusion requests at 100 ms and 300 AWS at 5 ms.
        let shape = Shape {
            kinds: vec![kind(200, 100, true), kind(600, 5, false)],
            txns_per_dc: vec![100, 100],
            workers: 8,
            fusion_in_flight: 16,
        };
        // (100 x 0.1 + 300 x 0.005) / 8 = 1.4375 s
        assert_eq!(round_trip_minimum(&shape).as_millis(), 1437);
    }

    #[test]
    fn a_small_fusion_limit_binds_before_the_workers() {
        let shape = Shape {
            kinds: vec![kind(100, 100, true), kind(100, 5, false)],
            txns_per_dc: vec![100],
            workers: 8,
            fusion_in_flight: 2,
        };
        assert_eq!(round_trip_minimum(&shape).as_millis(), 5_000);
    }

    #[test]
    fn the_largest_dc_sets_the_cycle() {
        let shape = Shape {
            kinds: vec![kind(400, 100, true)],
            txns_per_dc: vec![300, 100],
            workers: 10,
            fusion_in_flight: 10,
        };
        assert_eq!(round_trip_minimum(&shape).as_millis(), 3_000);
    }
}
