//! The typed configuration of each function, read from an [`Env`] at cold start, and the
//! engines' tunables ([`sync_settings`], [`reconcile_settings`], [`baseline_settings`]). Defaults are the domain's
//! (`SyncSettings::default()`, `ReconcileSettings::default()`); the variables are in
//! [`crate::names`].

use crate::config::{parse_dc_list, ConfigError, Env};
use crate::names;
use chrono::Duration;
use domain::golive::baseline::{BaselineMode, BaselineSettings};
use domain::reconciliation::ReconcileSettings;
use domain::sync::SyncSettings;
use domain::{DcCode, Thresholds};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// fanout-sync: which DCs (its queue comes from [`crate::App::sync_queue`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutConfig {
    /// Every DC a schedule fans out to (`DC_LIST`, required).
    pub dcs: Vec<DcCode>,
}

impl FanoutConfig {
    /// Reads `DC_LIST`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            dcs: env.dc_list(names::DC_LIST)?,
        })
    }
}

/// sync-inventory: the sync tunables (its ports come from [`crate::App::ports`]).
#[derive(Debug, Clone)]
pub struct SyncInventoryConfig {
    /// See [`sync_settings`].
    pub settings: SyncSettings,
}

impl SyncInventoryConfig {
    /// Reads the sync tunables.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            settings: sync_settings(env)?,
        })
    }
}

/// reconcile-stock: which DCs, how many at once, and the thresholds and tunables (its ports
/// come from [`crate::App::ports`]).
#[derive(Debug, Clone)]
pub struct ReconcileStockConfig {
    /// Every DC a schedule reconciles (`DC_LIST`, required).
    pub dcs: Vec<DcCode>,
    /// DCs reconciled at once (`RECONCILE_CONCURRENCY`, 4).
    pub concurrency: usize,
    /// See [`reconcile_settings`].
    pub settings: ReconcileSettings,
}

impl ReconcileStockConfig {
    /// Default of `RECONCILE_CONCURRENCY`.
    pub const DEFAULT_CONCURRENCY: usize = 4;

    /// Reads `DC_LIST`, `RECONCILE_CONCURRENCY` and the reconciliation tunables.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            dcs: env.dc_list(names::DC_LIST)?,
            concurrency: env.parsed_or(names::RECONCILE_CONCURRENCY, Self::DEFAULT_CONCURRENCY)?,
            settings: reconcile_settings(env)?,
        })
    }
}

/// [`SyncSettings`] from `SYNC_MAX_ATTEMPTS` (3), `SERIAL_LIMIT` (50), `SYNC_CONCURRENCY` (8),
/// `SYNC_PAGE_SIZE` (200), `SYNC_TXN_LEASE_SECS` (300), `SYNC_SAFETY_MARGIN_SECS` (60),
/// `SYNC_UNPROCESSED_REVIEW_MINUTES` (120), `SYNC_OUTAGE_AFTER` (3) and `DC_LIST` (optional:
/// when set, even to an empty value, it must list valid DCs and limits which DCs a message may
/// name).
pub fn sync_settings(env: &Env) -> Result<SyncSettings, ConfigError> {
    let d = SyncSettings::default();
    Ok(SyncSettings {
        max_attempts: env.parsed_or(names::SYNC_MAX_ATTEMPTS, d.max_attempts)?,
        serial_limit: env.parsed_or(names::SERIAL_LIMIT, d.serial_limit)?,
        concurrency: env.parsed_or(names::SYNC_CONCURRENCY, d.concurrency)?,
        page_size: env.parsed_or(names::SYNC_PAGE_SIZE, d.page_size)?,
        txn_lease: Duration::seconds(env.parsed_or(names::SYNC_TXN_LEASE_SECS, d.txn_lease.num_seconds())?),
        safety_margin: Duration::seconds(env.parsed_or(names::SYNC_SAFETY_MARGIN_SECS, d.safety_margin.num_seconds())?),
        alert_list_max: d.alert_list_max,
        outage_after: env.parsed_or(names::SYNC_OUTAGE_AFTER, d.outage_after)?,
        dcs: match env.raw(names::DC_LIST) {
            Some(text) => Some(parse_dc_list(names::DC_LIST, &text)?.into_iter().collect()),
            None => None,
        },
        unprocessed_review_after: Duration::minutes(env.parsed_or(
            names::SYNC_UNPROCESSED_REVIEW_MINUTES,
            d.unprocessed_review_after.num_minutes(),
        )?),
    })
}

/// [`BaselineSettings`] of the go-live baseline from `BASELINE_CHUNK_SIZE` (200 lines),
/// `BASELINE_CHUNKS_IN_FLIGHT` (4), `BASELINE_MODE` (`balance_transactions` or `adjustments`),
/// `BASELINE_CHUNK_LEASE_SECS` (300) and `BASELINE_SAFETY_MARGIN_SECS` (60), plus the
/// [`reconcile_settings`] its verification and adjustment mode use.
pub fn baseline_settings(env: &Env) -> Result<BaselineSettings, ConfigError> {
    let d = BaselineSettings::default();
    Ok(BaselineSettings {
        chunk_size: env.parsed_or(names::BASELINE_CHUNK_SIZE, d.chunk_size)?,
        chunks_in_flight: env.parsed_or(names::BASELINE_CHUNKS_IN_FLIGHT, d.chunks_in_flight)?,
        mode: env.parsed_or::<BaselineMode>(names::BASELINE_MODE, d.mode)?,
        chunk_lease: Duration::seconds(env.parsed_or(names::BASELINE_CHUNK_LEASE_SECS, d.chunk_lease.num_seconds())?),
        safety_margin: Duration::seconds(
            env.parsed_or(names::BASELINE_SAFETY_MARGIN_SECS, d.safety_margin.num_seconds())?,
        ),
        reconcile: reconcile_settings(env)?,
        ..d
    })
}

/// [`ReconcileSettings`] from `VARIANCE_AUTO_CORRECT_BELOW` (5), `VARIANCE_ALERT_ABOVE` (50),
/// `VARIANCE_THRESHOLDS_PER_DC` (see [`parse_per_dc`]), `RECONCILE_ORPHAN_RETRY_CAP` (3),
/// `RECONCILE_STALE_IN_FLIGHT_SECS` (900), plus the [`sync_settings`] used for adjustments and
/// orphan retries. Never a dry run: that is asked per invocation.
pub fn reconcile_settings(env: &Env) -> Result<ReconcileSettings, ConfigError> {
    let d = ReconcileSettings::default();
    let thresholds = Thresholds::new(
        env.parsed_or::<Decimal>(names::VARIANCE_AUTO_CORRECT_BELOW, d.thresholds.auto_correct_below)?,
        env.parsed_or::<Decimal>(names::VARIANCE_ALERT_ABOVE, d.thresholds.alert_above)?,
    )
    .map_err(|e| ConfigError::invalid(names::VARIANCE_ALERT_ABOVE, e.to_string()))?;
    let per_dc = parse_per_dc(&env.raw(names::VARIANCE_THRESHOLDS_PER_DC).unwrap_or_default())
        .map_err(|reason| ConfigError::invalid(names::VARIANCE_THRESHOLDS_PER_DC, reason))?;
    Ok(ReconcileSettings {
        thresholds,
        per_dc,
        orphan_retry_cap: env.parsed_or(names::RECONCILE_ORPHAN_RETRY_CAP, d.orphan_retry_cap)?,
        stale_in_flight_after: Duration::seconds(env.parsed_or(
            names::RECONCILE_STALE_IN_FLIGHT_SECS,
            d.stale_in_flight_after.num_seconds(),
        )?),
        sync: sync_settings(env)?,
        ..d
    })
}

/// Parses per-DC threshold overrides, `DC03=2:20,DC07=1:10` (`auto_correct_below:alert_above`
/// per DC); empty text is no override. The error says which part is wrong.
pub fn parse_per_dc(text: &str) -> Result<BTreeMap<DcCode, Thresholds>, String> {
    let mut out = BTreeMap::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (dc, range) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not DC=low:high"))?;
        let (low, high) = range
            .split_once(':')
            .ok_or_else(|| format!("{part:?} is not DC=low:high"))?;
        let dc = DcCode::parse(dc.trim()).map_err(|e| e.to_string())?;
        let parse = |s: &str| domain::quantity::parse_decimal(s, "variance threshold").map_err(|e| e.to_string());
        let t = Thresholds::new(parse(low)?, parse(high)?).map_err(|e| e.to_string())?;
        out.insert(dc, t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn per_dc_overrides_parse_and_refuse_clearly() {
        let m = parse_per_dc("DC03=2:20, DC07=1:10").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[&DcCode::parse("DC03").unwrap()].alert_above, Decimal::from(20));
        assert!(parse_per_dc("DC03=20:2").unwrap_err().contains("below"));
        assert!(parse_per_dc("DC03").is_err());
        assert!(parse_per_dc("").unwrap().is_empty());
    }

    #[test]
    fn baseline_settings_read_their_variables_and_refuse_an_unknown_mode() {
        let vars = env(&[
            ("BASELINE_CHUNK_SIZE", "50"),
            ("BASELINE_MODE", "adjustments"),
            ("SYNC_CONCURRENCY", "3"),
        ]);
        let b = baseline_settings(&vars).unwrap();
        assert_eq!((b.chunk_size, b.chunks_in_flight), (50, 4));
        assert_eq!(b.mode, BaselineMode::Adjustments);
        assert_eq!(b.reconcile.sync.concurrency, 3);
        assert!(baseline_settings(&env(&[("BASELINE_MODE", "fbdi")])).is_err());
    }

    #[test]
    fn settings_read_any_variable_source() {
        let vars = env(&[
            ("SYNC_CONCURRENCY", "3"),
            ("RECONCILE_ORPHAN_RETRY_CAP", "7"),
            ("VARIANCE_THRESHOLDS_PER_DC", "DC03=2:20"),
        ]);
        let sync = sync_settings(&vars).unwrap();
        assert_eq!(sync.concurrency, 3);
        assert_eq!(sync.max_attempts, SyncSettings::default().max_attempts);
        let reconcile = reconcile_settings(&vars).unwrap();
        assert_eq!(reconcile.orphan_retry_cap, 7);
        assert_eq!(reconcile.sync.concurrency, 3);
        assert_eq!(reconcile.per_dc.len(), 1);
        let e = sync_settings(&env(&[("SYNC_PAGE_SIZE", "many")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SYNC_PAGE_SIZE"), "{e}");
    }

    #[test]
    fn each_function_reads_only_what_it_needs() {
        let fanout = FanoutConfig::from_env(&env(&[("DC_LIST", "DC01,DC02")])).unwrap();
        assert_eq!(fanout.dcs.len(), 2);
        let e = FanoutConfig::from_env(&env(&[])).unwrap_err();
        assert_eq!(e, ConfigError::Missing("DC_LIST".into()));

        let sync = SyncInventoryConfig::from_env(&env(&[])).unwrap();
        assert_eq!(sync.settings.page_size, SyncSettings::default().page_size);
        assert_eq!(sync.settings.dcs, None);
        let e = SyncInventoryConfig::from_env(&env(&[("DC_LIST", "")])).unwrap_err();
        assert!(e.to_string().contains("DC_LIST"), "{e}");

        let reconcile = ReconcileStockConfig::from_env(&env(&[("DC_LIST", "DC01")])).unwrap();
        assert_eq!(reconcile.concurrency, ReconcileStockConfig::DEFAULT_CONCURRENCY);
        assert!(!reconcile.settings.dry_run);
        let e =
            ReconcileStockConfig::from_env(&env(&[("DC_LIST", "DC01"), ("RECONCILE_CONCURRENCY", "x")])).unwrap_err();
        assert!(e.to_string().contains("RECONCILE_CONCURRENCY"), "{e}");
    }
}
