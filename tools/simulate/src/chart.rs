//! The chart: discrepancy share over simulated time for invsync and for the twice-daily
//! upload, on a log scale, with fault windows shaded and delivery faults ticked on the time
//! axis. Written as SVG text by hand: no drawing library, no font files (the viewer picks a
//! sans-serif font).

use std::fmt::Write as _;

use crate::run::Outcome;

const W: f64 = 1100.0;
const H: f64 = 460.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 90.0;
/// Lowest share drawn (a zero share sits on this line): 0.00001 %. Why that low: at 12 DCs x
/// 50,000 SKUs (about 900,000 keys) one discrepant key is 0.0001 %, and invsync's share sits
/// at a few keys, so a higher floor would draw it as zero.
const FLOOR: f64 = 1e-7;
/// Decades from the floor to 100 %.
const DECADES: i32 = 7;

fn y_of(share: f64) -> f64 {
    let v = share.max(FLOOR).log10() - FLOOR.log10();
    TOP + (H - TOP - BOTTOM) * (1.0 - v / f64::from(DECADES))
}

/// The SVG document.
pub fn svg(o: &Outcome) -> String {
    let total = o.minutes.max(1) as f64;
    let x_of = |m: i64| LEFT + (W - LEFT - RIGHT) * m as f64 / total;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="15">Discrepancy share over {:.2} simulated days, {} DCs x {} SKUs (log scale; 0 drawn at 0.00001 %)</text>"#,
        o.minutes as f64 / 1440.0,
        o.settings.dcs,
        o.settings.items
    );
    let colors = |k: &str| match k {
        "outage" => "#f4a6a6",
        "throttling" => "#f7d08a",
        "credentials" => "#c9a6f4",
        _ => "#a6d8f4",
    };
    for w in &o.windows {
        let (x0, x1) = (x_of(w.start), x_of(w.end));
        let _ = writeln!(
            s,
            r#"<rect x="{x0:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="{}" opacity="0.6"><title>{}</title></rect>"#,
            (x1 - x0).max(1.5),
            H - TOP - BOTTOM,
            colors(w.kind.label()),
            w.kind.label()
        );
    }
    for e in 0..=DECADES {
        let share = 10f64.powi(-e);
        let y = y_of(share);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            W - RIGHT
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.*}%</text>"#,
            LEFT - 6.0,
            y + 4.0,
            usize::try_from(e - 2).unwrap_or(0),
            100.0 * share
        );
    }
    let step = if o.minutes <= 2 * 1440 { 360 } else { 1440 };
    for m in (0..=o.minutes).step_by(step as usize) {
        let x = x_of(m);
        let d = format!("day {} {:02}:00", m / 1440, (m / 60) % 24);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#bbb"/>"##,
            H - BOTTOM
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{d}</text>"#,
            H - BOTTOM + 16.0
        );
    }
    for e in &o.events {
        let x = x_of(e.minute);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#555"><title>{}</title></line>"##,
            H - BOTTOM + 20.0,
            H - BOTTOM + 30.0,
            e.what
        );
    }
    let line = |pick: &dyn Fn(&crate::measure::Checkpoint) -> f64| -> String {
        o.checkpoints
            .iter()
            .map(|c| format!("{:.1},{:.1}", x_of(c.minute), y_of(pick(c))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#d62728" stroke-width="1.5" points="{}"/>"##,
        line(&|c| c.baseline.share(c.keys))
    );
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{}"/>"##,
        line(&|c| c.invsync.share(c.keys))
    );
    let _ = writeln!(
        s,
        r##"<polyline fill="none" stroke="#2ca02c" stroke-width="1" stroke-dasharray="4 3" points="{}"/>"##,
        line(&|c| c.invsync.unexplained_share(c.keys))
    );
    let mut ly = H - 36.0;
    let legend = [
        ("#d62728", "twice-daily upload"),
        ("#1f77b4", "invsync"),
        ("#2ca02c", "invsync, keys without an open task"),
        ("#f4a6a6", "Fusion outage"),
        ("#f7d08a", "throttling"),
        ("#c9a6f4", "rejected credentials"),
        ("#a6d8f4", "processing stall"),
        ("#555", "ticks: lost / duplicated message, crash"),
    ];
    let mut x = LEFT;
    for (i, (color, label)) in legend.into_iter().enumerate() {
        if i == 4 {
            x = LEFT;
            ly += 18.0;
        }
        let _ = writeln!(
            s,
            r#"<rect x="{x:.1}" y="{:.1}" width="14" height="10" fill="{color}"/>"#,
            ly - 9.0
        );
        let _ = writeln!(s, r#"<text x="{:.1}" y="{ly:.1}">{label}</text>"#, x + 18.0);
        x += 26.0 + 6.2 * label.len() as f64;
    }
    s.push_str("</svg>\n");
    s
}
