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
