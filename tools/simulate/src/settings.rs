//! The knobs of a simulation: size, seed, the daily shape of activity, the rate of every
//! drift and fault source, and how long simulated people take.

use chrono::NaiveDate;

/// Every setting of one simulation. Rates of instantaneous events are per DC and simulated
/// day; rates of hour-long fault windows are per simulated day for the whole deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Simulated days.
    pub days: u32,
    /// DCs.
    pub dcs: usize,
    /// SKUs per DC.
    pub items: usize,
    /// Seed of both simulators' data and of every random draw of the simulation.
    pub seed: u64,
    /// The first simulated day (00:00 UTC); also the simulators' "today" for lot expiry.
    pub start: NaiveDate,
    /// WMS transactions per DC in the peak hour (the daily shape scales the other hours).
    pub peak_per_dc: u32,
    /// People editing Fusion directly, per DC and day (sizes in every tier).
    pub fusion_edits: f64,
    /// WMS corrections that bypass the outbox, per DC and day (sizes in every tier).
    pub wms_corrections: f64,
    /// Bad WMS data per DC and day (unknown item, expired lot, serial mismatch in turn).
    pub bad_data: f64,
    /// Fusion outages of an hour (every request 503), per day.
    pub outages: f64,
    /// Throttling periods of an hour (429 beyond 2 requests in flight), per day.
    pub throttling: f64,
    /// Hours of rejected credentials (every request 401), per day.
    pub credential_rejections: f64,
    /// Hours in which Fusion's transaction manager does not run (staged rows wait), per day.
    pub processing_stalls: f64,
    /// Hourly sync messages lost (one DC's), per day.
    pub missed_messages: f64,
    /// Hourly sync messages delivered twice at once (one DC's), per day.
    pub duplicated_messages: f64,
    /// Function invocations that crash at a random step, per day.
    pub crashes: f64,
    /// Share of staged rows Fusion's transaction manager fails.
    pub process_fail_rate: f64,
    /// Share of Online posts Fusion answers 408, leaving the row staged for later processing.
    pub online_408_rate: f64,
    /// Minutes before a supervisor resolves a review task.
    pub supervisor_delay_min: i64,
    /// Minutes before a manager corrects an alerted key and releases its hold.
    pub manager_delay_min: i64,
    /// Stop at the first checkpoint after this much wall time, reporting the simulated time
    /// done so far (`None`: run every day).
    pub wall_limit: Option<std::time::Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            days: 7,
            dcs: 12,
            items: 50_000,
            seed: 42,
            start: sim_seed::SeedConfig::default().today,
            peak_per_dc: 850,
            fusion_edits: 4.0,
            wms_corrections: 4.0,
            bad_data: 1.0,
            outages: 1.0 / 7.0,
            throttling: 2.0 / 7.0,
            credential_rejections: 1.0 / 7.0,
            processing_stalls: 1.0 / 7.0,
            missed_messages: 0.5,
            duplicated_messages: 0.5,
            crashes: 0.5,
            process_fail_rate: 0.0005,
            online_408_rate: 0.002,
            supervisor_delay_min: 60,
            manager_delay_min: 120,
            wall_limit: None,
        }
    }
}

/// Share of the peak hour's activity in each hour of the day (UTC): a quiet night, an early
/// and a late shift, the peak at 10:00.
pub const DAILY_SHAPE: [f64; 24] = [
    0.04, 0.03, 0.03, 0.03, 0.05, 0.15, 0.55, 0.80, 0.90, 0.95, 1.00, 0.95, 0.70, 0.80, 0.90, 0.85, 0.80, 0.75, 0.70,
    0.55, 0.35, 0.20, 0.10, 0.06,
];

impl Settings {
    /// Simulated minutes in the run.
    pub fn minutes(&self) -> i64 {
        i64::from(self.days) * 24 * 60
    }
}
