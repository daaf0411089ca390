//! `invsync-simulate`: accuracy over simulated days (issue 14).
//!
//! The real `fanout-sync`, `sync-inventory` and `reconcile-stock` handlers and the domain
//! engines run on a simulated clock (the `Clock` port, a `testkit::ManualClock`): the hourly
//! sync and the 15-minute reconciliation fire on their schedules through an in-process SQS
//! FIFO queue; the Fusion and WMS simulators serve real HTTP in process; the AWS stores are
//! `testkit`'s in-memory ones, so a day runs in minutes. Warehouse activity follows a daily
//! shape; drift, bad data and faults come at seeded rates; simulated people act through the
//! console's service layer. At every 15-minute checkpoint the measures compare Fusion with
//! the WMS directly (not through invsync), for invsync and for the twice-daily absolute upload
//! it replaced (modelled on the same WMS: Fusion set to the WMS at 06:00 and 18:00, plus the
//! same direct edits, no reconciliation).
//!
//! Layout: [`settings`] (knobs), [`world`] (simulators, clients, stores), [`ports`] (the port
//! bundles), [`lambda`] (schedules, queue, invocations, delivery faults), [`faults`] (fault
//! windows), [`inject`] (activity, drift, bad data), [`people`] (console users), [`truth`]
//! (both sides read directly, in flight, variance), [`measure`] (checkpoints, baseline),
//! [`run`] (the loop), [`report`] (summary table, CSV), [`chart`] (SVG).

pub mod chart;
pub mod faults;
pub mod inject;
pub mod lambda;
pub mod measure;
pub mod people;
pub mod ports;
pub mod report;
pub mod run;
pub mod settings;
pub mod truth;
pub mod world;

pub use run::{run, Outcome};
pub use settings::Settings;
