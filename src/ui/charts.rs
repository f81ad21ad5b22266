//! Line charts drawn as SVG on the server: axes with rounded ticks, time labels, one line per
//! series and a legend. No script is needed to see them.

use crate::domain::Series;
use leptos::prelude::*;

const W: f64 = 640.0;
const H: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
const COLORS: [&str; 6] = [
    "#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2",
];

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v` (at least 1).
pub fn nice_ceiling(v: f64) -> f64 {
    if v.is_nan() || v <= 1.0 {
        return 1.0;
    }
    let exp = v.log10().floor();
    let base = 10f64.powf(exp);
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|c| *c >= v - 1e-9)
        .unwrap_or(10.0 * base)
}

/// 1234 → "1.2k", 5_600_000 → "5.6M".
pub fn compact(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if x.fract().abs() < 0.05 || x.abs() >= 100.0 {
        format!("{x:.0}{suffix}")
    } else {
        format!("{x:.1}{suffix}")
    }
}

fn time_label(ms: i64, span: i64) -> String {
    let fmt = if span <= 86_400_000 {
        time::macros::format_description!("[hour]:[minute]")
    } else {
        time::macros::format_description!("[month]-[day] [hour]h")
    };
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

/// A line chart of `series` over `[from, to)`; values in `unit`.
#[component]
pub fn LineChart(
    title: String,
    unit: &'static str,
    series: Vec<Series>,
    from: i64,
    to: i64,
    testid: &'static str,
) -> impl IntoView {
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let empty = max <= 0.0;
    let y_max = nice_ceiling(max);
    let span = (to - from).max(1);
    let x = move |t: i64| LEFT + (t - from) as f64 / span as f64 * (W - LEFT - RIGHT);
    let y = move |v: f64| TOP + (1.0 - v / y_max) * (H - TOP - BOTTOM);
    let grid = (0..=4)
        .map(|i| {
            let v = y_max * i as f64 / 4.0;
            let yy = y(v);
            view! {
                <line x1=LEFT x2=W - RIGHT y1=yy y2=yy class="grid" />
                <text x=LEFT - 6.0 y=yy + 4.0 text-anchor="end" class="tick">{compact(v)}</text>
            }
        })
        .collect_view();
    let ticks = (0..=5)
        .map(|i| {
            let t = from + span * i / 5;
            view! {
                <text x=x(t) y=H - 8.0 text-anchor="middle" class="tick">{time_label(t, span)}</text>
            }
        })
        .collect_view();
    let lines = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let points = s
                .points
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                .collect::<Vec<_>>()
                .join(" ");
            view! {
                <polyline points=points fill="none" stroke=COLORS[i % COLORS.len()] stroke-width="1.5" data-series=s.name.clone()>
                    <title>{s.name.clone()}</title>
                </polyline>
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let last = s.points.iter().rev().find(|p| p.1 > 0.0).map_or(0.0, |p| p.1);
            view! {
                <span class="legend-item">
                    <span class="swatch" style=format!("background:{}", COLORS[i % COLORS.len()])></span>
                    {format!("{} · {} {unit}", s.name, compact(last))}
                </span>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption>{title.clone()} " " <span class="legend">{legend}</span></figcaption>
            <svg viewBox=format!("0 0 {W} {H}") role="img" aria-label=title preserveAspectRatio="none">
                {grid}
                <line x1=LEFT x2=LEFT y1=TOP y2=H - BOTTOM class="axis" />
                <line x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM class="axis" />
                {ticks}
                {lines}
                {empty.then(|| view! {
                    <text x=(LEFT + W) / 2.0 y=H / 2.0 text-anchor="middle" class="empty">"No reports in this range yet"</text>
                })}
            </svg>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_up_to_one_two_or_five() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(1.3), 2.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(1234.0), 2000.0);
        assert_eq!(nice_ceiling(5000.0), 5000.0);
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(12.5), "12.5");
        assert_eq!(compact(1234.0), "1.2k");
        assert_eq!(compact(5_600_000.0), "5.6M");
        assert_eq!(compact(250_000.0), "250k");
    }
}
