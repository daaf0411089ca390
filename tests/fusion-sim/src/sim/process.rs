//! The transaction manager: processes pending (ProcessFlag 1) interface rows into completed
//! transactions. A row that fails keeps ProcessFlag 3 with `ErrorCode` / `ErrorExplanation`
//! and stays in the interface (fact sheet §3); a processed row leaves it.
//!
//! Besides real validation failures (e.g. on-hand would go negative), the caller's `fail`
//! judgement injects processing failures (`Faults::process_fail_rate`,
//! `Faults::fail_processing_refs`).

use super::*;

/// Which pending rows one run of the transaction manager takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Every pending row, oldest (lowest TransactionInterfaceId) first.
    All,
    /// Only the N oldest pending rows.
    Oldest(usize),
    /// Concurrent (mode 2) rows whose due time is at or before this instant.
    DueBy(Instant),
}

/// An injected processing failure: `(ErrorCode, ErrorExplanation)`.
pub type ProcessFailure = (String, String);

impl SimState {
    /// Runs the transaction manager over every pending row, with no injected failures.
    pub fn process_staged(&mut self) -> ProcessReport {
        self.process_pending(Pick::All, &mut |_| None)
    }

    /// Runs the transaction manager over the rows `pick` selects, in id order. `fail` is asked
    /// once per row before validation; `Some` fails the row with that code and explanation.
    pub fn process_pending(
        &mut self,
        pick: Pick,
        fail: &mut dyn FnMut(&TxnRequest) -> Option<ProcessFailure>,
    ) -> ProcessReport {
        let ids: Vec<i64> = match pick {
            Pick::All | Pick::Oldest(_) => {
                let max = match pick {
                    Pick::Oldest(n) => n,
                    _ => usize::MAX,
                };
                self.staged
                    .values()
                    .filter(|r| r.process_flag == 1)
                    .map(|r| r.id)
                    .take(max)
                    .collect()
            }
            Pick::DueBy(now) => {
                let mut ids = Vec::new();
                while let Some(&(at, id)) = self.concurrent_due.first() {
                    if at > now {
                        break;
                    }
                    self.concurrent_due.pop_first();
                    if self
                        .staged
                        .get(&id)
                        .is_some_and(|r| r.process_flag == 1 && r.due == Some(at))
                    {
                        ids.push(id);
                    }
                }
                ids.sort_unstable();
                ids
            }
        };
        let mut report = ProcessReport::default();
        for id in ids {
            let Some(row) = self.staged.get(&id).cloned() else {
                continue;
            };
            let outcome = match fail(&row.req) {
                Some((code, explanation)) => Err((code, explanation, true)),
                None => txn::validate(&self.master, &self.orgs, &row.req, self.settings.rules)
                    .map_err(|e| (e.code, e.detail, e.path.starts_with("lots"))),
            };
            match outcome {
                Ok(plan) => {
                    self.complete(&plan, &row.req, Some(id));
                    self.staged.remove(&id);
                    report.processed += 1;
                }
                Err((code, explanation, on_lots)) => {
                    if let Some(r) = self.staged.get_mut(&id) {
                        r.process_flag = 3;
                        r.due = None;
                        r.lot_error_code = (on_lots && !r.req.lots.is_empty()).then(|| code.clone());
                        r.error_code = Some(code);
                        r.error_explanation = Some(explanation);
                    }
                    report.failed += 1;
                }
            }
        }
        report
    }

    /// The earliest due time of a scheduled Concurrent row (possibly a stale entry).
    pub fn next_concurrent_due(&self) -> Option<Instant> {
        self.concurrent_due.first().map(|(at, _)| *at)
    }
}
