//! The accuracy chart: an inline SVG line of reconciliation accuracy over a window, with its
//! figures also as text (the SVG is labelled for screen readers).

use super::esc;
use console::AccuracyPoint;
use std::fmt::Write as _;

const W: f64 = 520.0;
const H: f64 = 160.0;
const PAD_L: f64 = 48.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 10.0;

/// The chart of `points` (oldest first) titled `title`.
pub fn accuracy_svg(title: &str, points: &[AccuracyPoint]) -> String {
    if points.is_empty() {
        return format!(
            "<p class=\"muted\">{}: no reconciliation in this window.</p>",
            esc(title)
        );
    }
    let min_bp = points.iter().map(|p| p.accuracy_bp).min().unwrap_or(10_000).min(9_900);
    let floor = (min_bp / 100 * 100).max(0) as f64;
    let span = (10_000.0 - floor).max(1.0);
    let first = points.first().map(|p| p.at.timestamp()).unwrap_or(0) as f64;
    let last = points.last().map(|p| p.at.timestamp()).unwrap_or(0) as f64;
    let dt = (last - first).max(1.0);
    let x = |t: f64| PAD_L + (t - first) / dt * (W - PAD_L - 8.0);
    let y = |bp: f64| PAD_T + (10_000.0 - bp) / span * (H - PAD_T - PAD_B);
    let mut line = String::new();
    for p in points {
        let _ = write!(
            line,
            "{:.1},{:.1} ",
            x(p.at.timestamp() as f64),
            y(p.accuracy_bp as f64)
        );
    }
    let latest = points.last().map(|p| p.accuracy_bp).unwrap_or(0);
    let label = format!(
        "{title}: {} reconciliations, lowest {:.2} %, latest {:.2} %",
        points.len(),
        min_bp as f64 / 100.0,
        latest as f64 / 100.0
    );
    let mut svg = format!(
        "<figure style=\"margin:0\"><figcaption><strong>{t}</strong> <span class=\"muted\">latest {:.2} %</span></figcaption>\
<svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" aria-label=\"{l}\"><title>{l}</title>",
        latest as f64 / 100.0,
        t = esc(title),
        l = esc(&label)
    );
    for bp in [floor, floor + span / 2.0, 10_000.0] {
        let _ = write!(
            svg,
            "<line x1=\"{PAD_L}\" x2=\"{W}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e3e8ee\"/><text x=\"4\" y=\"{ty:.1}\">{p:.1} %</text>",
            y = y(bp),
            ty = y(bp) + 4.0,
            p = bp / 100.0
        );
    }
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#0b5cad\" stroke-width=\"2\" points=\"{line}\"/>\
<text x=\"{PAD_L}\" y=\"{by}\">{from}</text><text x=\"{W}\" y=\"{by}\" text-anchor=\"end\">{to}</text></svg></figure>",
        by = H - 4.0,
        from = points
            .first()
            .map(|p| p.at.format("%d %b %H:%M").to_string())
            .unwrap_or_default(),
        to = points
            .last()
            .map(|p| p.at.format("%d %b %H:%M").to_string())
            .unwrap_or_default(),
    );
    svg
}
