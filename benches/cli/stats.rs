//! The arithmetic of the summary: min / median / max and percentiles over a set of
//! measurements. Quantiles interpolate linearly between the two nearest ranks (numpy's
//! default), so the median of an even count is the mean of the middle pair and a
//! percentile never invents a value outside the measured range.

/// Five numbers that describe one set of measurements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

/// The `q` quantile (0 ≤ q ≤ 1) of values sorted ascending; `None` when there are none.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Summarises the finite values; `None` when there are none. NaN and infinities (a failed
/// measurement) are left out rather than poisoning the order.
pub fn summarize(values: impl IntoIterator<Item = f64>) -> Option<Summary> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    Some(Summary {
        count: v.len(),
        min: *v.first()?,
        median: quantile(&v, 0.5)?,
        p90: quantile(&v, 0.9)?,
        max: *v.last()?,
    })
}

/// `a / b` when both exist and `b` is positive.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}
