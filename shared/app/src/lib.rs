//! invsync application wiring: what a process needs to turn its environment into working
//! ports. Production code (the three Lambda functions) and any future tool (an operator CLI, an
//! HTTP API) start here; nothing in this crate knows about Lambda.
//!
//! - [`names`]: every environment variable the functions read, each declared once;
//! - [`config`]: [`ConfigError`], the one configuration error, and [`Env`], a variable source
//!   (the process environment or a map);
//! - [`settings`]: the typed configuration of each function ([`FanoutConfig`],
//!   [`SyncInventoryConfig`], [`ReconcileStockConfig`]) and the engines' tunables;
//! - [`wiring`]: [`App`], which builds one port at a time (a tool reading two tables needs no
//!   Fusion or WMS credentials), and [`AppPorts`], every port the sync and reconciliation use;
//! - [`baseline`]: [`BaselineAppPorts`], the engines' ports plus the go-live tables
//!   ([`App::baseline_ports`]), for the baseline function and the CLI;
//! - [`console`]: [`ConsolePortsApp`], the engines' ports plus the audit trail as the
//!   operator console's ports ([`App::console_ports`], [`App::audit`]);
//! - [`secrets`]: reading a secret from Secrets Manager at cold start;
//! - [`permissions`]: what each function's role must grant for the adapters it wires.
//!
//! Local provisioning (creating resources from `infra/template.yaml`) is not here: production
//! wiring only ever reads resource names from the environment.

pub mod baseline;
pub mod config;
pub mod console;
pub mod names;
pub mod permissions;
pub mod secrets;
pub mod settings;
pub mod wiring;

pub use baseline::BaselineAppPorts;
pub use config::{ConfigError, Env};
pub use console::ConsolePortsApp;
pub use settings::{FanoutConfig, ReconcileStockConfig, SyncInventoryConfig};
pub use wiring::{App, AppPorts, Resources, SystemClock};
