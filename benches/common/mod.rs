//! Helpers shared by the benchmarks.

/// Resets the kernel's peak-RSS mark, so each variant reports its own peak.
#[allow(dead_code, reason = "not every bench reports memory")]
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident set since the last reset, in MB (NaN off Linux).
#[allow(dead_code, reason = "not every bench reports memory")]
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// This process's resident set now, in MB (NaN off Linux).
#[allow(dead_code, reason = "not every bench subtracts a baseline")]
pub fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The median of `v`.
#[allow(dead_code, reason = "not every bench takes medians")]
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Prints a table row per variant of a benchmark (median seconds with the fastest,
/// events/s over `events`, its results, peak RSS) and the ratio of the second
/// variant's median time to the first's, labelled `ratio`.
#[allow(dead_code, reason = "not every bench compares two variants")]
pub fn report<R: std::fmt::Display>(
    name: &str,
    variants: [&str; 2],
    workers: u64,
    events: u64,
    (secs, results, rss): (&[Vec<f64>; 2], &[R; 2], &[f64; 2]),
    ratio: &str,
) {
    let mut medians = [0f64; 2];
    for (v, variant) in variants.iter().enumerate() {
        let fastest = secs[v].iter().copied().fold(f64::INFINITY, f64::min);
        medians[v] = median(secs[v].clone());
        println!(
            "| {name} | {variant} | {workers} | {:.2} ({fastest:.2}) | {:.2}M | {} | {:.0} |",
            medians[v],
            events as f64 / medians[v] / 1e6,
            results[v],
            rss[v]
        );
    }
    println!(
        "ratio {ratio} ({name}, -w {workers}): {:.2}x median",
        medians[1] / medians[0]
    );
}

/// The number in the environment variable `name`, or `default`.
#[allow(
    dead_code,
    reason = "not every bench reads its sizes from the environment"
)]
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
