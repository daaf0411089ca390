//! The plan as CSV: one row per key (item, subinventory, lot) of every line to apply.

use super::*;

/// The CSV header row.
pub const CSV_HEADER: &str = "item,subinventory,lot,wms_qty,fusion_qty,difference,serials_added,serials_removed,note";

/// Quotes a field when it holds a comma, a quote or a line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn joined<T: std::fmt::Display>(xs: &[T]) -> String {
    xs.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// Renders `lines` (a plan's lines, or one chunk's) as CSV with [`CSV_HEADER`]. A lot line
/// gives one row per lot (serials on its first row); `note` says `new lot`, `lot unchanged`,
/// `to zero` (Fusion holds stock the WMS does not) or is empty. With `results` (one per
/// line, an applied chunk's), a refused line's note is `refused: <Fusion's text>`.
pub fn plan_csv(lines: &[PlanLine], results: Option<&[LineResult]>) -> String {
    let mut out = String::with_capacity(64 * (lines.len() + 1));
    out.push_str(CSV_HEADER);
    out.push('\n');
    for (i, l) in lines.iter().enumerate() {
        let refused = match results.and_then(|r| r.get(i)) {
            Some(LineResult::Refused { reason }) => Some(format!("refused: {reason}")),
            _ => None,
        };
        let mut row = |lot: &str, wms: Decimal, fusion: Decimal, first: bool, note: &str| {
            let (added, removed) = if first {
                (joined(&l.serials_added), joined(&l.serials_removed))
            } else {
                (String::new(), String::new())
            };
            let note = refused.as_deref().unwrap_or(note);
            let cells = [
                field(l.item.as_str()),
                field(l.subinventory.as_str()),
                field(lot),
                wms.normalize().to_string(),
                fusion.normalize().to_string(),
                (wms - fusion).normalize().to_string(),
                field(&added),
                field(&removed),
                field(note),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        };
        if l.lots.is_empty() {
            let note = if l.target.is_zero() && !l.fusion.is_zero() {
                "to zero"
            } else {
                ""
            };
            row("", l.target, l.fusion, true, note);
        } else {
            for (j, lot) in l.lots.iter().enumerate() {
                let note = if lot.new_to_fusion {
                    "new lot"
                } else if lot.wms == lot.fusion {
                    "lot unchanged"
                } else if lot.wms.is_zero() {
                    "to zero"
                } else {
                    ""
                };
                row(lot.lot.as_str(), lot.wms, lot.fusion, j == 0, note);
            }
        }
    }
    out
}

use rust_decimal::Decimal;
