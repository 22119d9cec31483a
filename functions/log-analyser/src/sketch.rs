//! A latency distribution in logarithmic buckets, exported as CloudWatch `Values`/`Counts`.
//!
//! Each positive value `x` falls in bucket `i = ceil(ln x / ln γ)` with `γ = (1+α)/(1-α)`,
//! and the bucket is represented by `2γ^i/(γ+1)`, which is within a relative error `α` of
//! every value in the bucket (the DDSketch mapping). With α = 1 % a latency from 1 µs to
//! 10⁶ ms needs about 1,400 buckets, and a typical minute uses a few dozen.
//!
//! Publishing buckets (not per-batch percentiles) lets CloudWatch merge the distributions of
//! every invocation and shard and compute p50/p90/p99 over any period; those percentiles are
//! then within α of the true sample percentiles.
//!
//! Hand-written rather than taken from a sketch crate: the crates at hand (sketches-ddsketch,
//! hdrhistogram) do not hand out their buckets' representative values, which is exactly what
//! PutMetricData needs; the mapping itself is the four lines below.

/// The relative accuracy of every exported value.
pub const RELATIVE_ERROR: f64 = 0.01;

/// CloudWatch accepts at most 150 distinct values per datum.
pub const MAX_VALUES_PER_DATUM: usize = 150;

/// `1 / ln γ` for α = 1 % (γ = 1.01 / 0.99), written out because `f64::ln` is not `const`;
/// a unit test checks it against the formula.
const INV_LN_GAMMA: f64 = 49.998_333_288_886_78;

/// Values are clamped to this range (in milliseconds) before bucketing: below it counts as
/// zero, above it lands in the top bucket. Eleven days is far beyond any request CloudFront
/// can log, and the clamp bounds a histogram to ~1,400 buckets whatever a record claims.
const MIN_VALUE: f64 = 1e-3;
const MAX_VALUE: f64 = 1e9;

/// Counts per bucket index in one contiguous window `[offset, offset + counts.len())`, grown on
/// demand: a minute's latencies span a few hundred neighbouring buckets, so a dense window
/// is both smaller and much faster to update than a map (no hashing, no tree walk).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogHistogram {
    zeros: u64,
    offset: i32,
    counts: Vec<u32>,
    count: u64,
}

fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

/// The bucket of a value in `[MIN_VALUE, MAX_VALUE]`: `ceil(ln x / ln γ)`.
fn bucket_index(value: f64) -> i32 {
    (value.min(MAX_VALUE).ln() * INV_LN_GAMMA).ceil() as i32
}

impl LogHistogram {
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        // Below a microsecond (and exact zeros, which CloudFront logs as 0.000) counts as zero;
        // NaN too (the parser never yields one, but the histogram must not misfile it).
        if value.is_nan() || value < MIN_VALUE {
            self.zeros += 1;
            return;
        }
        let index = bucket_index(value);
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(1);
            return;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let slot = (index - self.offset) as usize;
        if slot >= self.counts.len() {
            self.counts.resize(slot + 1, 0);
        }
        self.counts[slot] = self.counts[slot].saturating_add(1);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// `(value, count)` pairs, ascending by value.
    pub fn values_and_counts(&self) -> Vec<(f64, f64)> {
        let g = gamma();
        let mut out = Vec::with_capacity(self.counts.len() + 1);
        if self.zeros > 0 {
            out.push((0.0, self.zeros as f64));
        }
        out.extend(
            (self.offset..)
                .zip(&self.counts)
                .filter(|(_, count)| **count > 0)
                .map(|(index, count)| (2.0 * g.powi(index) / (g + 1.0), f64::from(*count))),
        );
        out
    }

    /// The value at quantile `q` (0..=1) of what was added, within the relative error.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).round() as u64;
        let mut seen = 0u64;
        for (value, count) in self.values_and_counts() {
            seen += count as u64;
            if seen > rank {
                return Some(value);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_value_is_represented_within_the_relative_error(value in 0.001f64..1e7) {
            let mut histogram = LogHistogram::default();
            histogram.add(value);
            let (represented, count) = histogram.values_and_counts()[0];
            prop_assert_eq!(count, 1.0);
            prop_assert!((represented - value).abs() / value <= RELATIVE_ERROR + 1e-12, "{} vs {}", represented, value);
        }
    }

    #[test]
    fn quantiles_match_the_exact_sample_within_the_error() {
        let mut histogram = LogHistogram::default();
        let mut exact: Vec<f64> = (1..=1000).map(|i| (i as f64).powf(1.7) / 10.0).collect();
        for v in &exact {
            histogram.add(*v);
        }
        exact.sort_by(f64::total_cmp);
        for q in [0.5, 0.9, 0.99] {
            let truth = exact[(q * 999.0_f64).round() as usize];
            let estimate = histogram.quantile(q).unwrap();
            assert!(
                (estimate - truth).abs() / truth <= RELATIVE_ERROR + 1e-9,
                "q{q}: {estimate} vs {truth}"
            );
        }
        assert_eq!(histogram.count(), 1000);
    }

    #[test]
    fn the_written_out_constant_is_one_over_ln_gamma() {
        assert!((INV_LN_GAMMA - 1.0 / gamma().ln()).abs() < 1e-9);
    }

    #[test]
    fn a_window_grows_both_ways_and_extremes_stay_bounded() {
        let mut histogram = LogHistogram::default();
        for v in [100.0, 1.0, 10_000.0, 1e300, f64::NAN, 5e-4] {
            histogram.add(v);
        }
        let pairs = histogram.values_and_counts();
        assert_eq!(pairs.iter().map(|(_, c)| c).sum::<f64>(), 6.0);
        assert_eq!(pairs[0], (0.0, 2.0));
        // 1e300 is clamped into the bucket of 1e9 ms.
        let top = pairs.last().unwrap().0;
        assert!((top - 1e9).abs() / 1e9 <= RELATIVE_ERROR, "{top}");
        assert!(histogram.counts.len() < 1_500, "{}", histogram.counts.len());
    }

    #[test]
    fn zeros_are_kept_as_zero() {
        let mut histogram = LogHistogram::default();
        histogram.add(0.0);
        histogram.add(0.0);
        histogram.add(5.0);
        assert_eq!(histogram.values_and_counts()[0], (0.0, 2.0));
        assert_eq!(histogram.quantile(0.0), Some(0.0));
    }
}
