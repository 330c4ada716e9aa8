//! Latency statistics: the count, median, 95th and 99th percentiles and maximum of a set of
//! durations, and rows of them by label for tables and charts.
//!
//! **Shared** by every report that shows timings: the run report (`mynasim run --html`,
//! `mynasim report`) and the certification report (`mynasim certify`). Keep it free of
//! run-specific types.
//!
//! Percentiles are by *nearest rank*: the p-th percentile of n sorted samples is the sample
//! of rank ⌈p·n/100⌉ (1-based, at least 1). It is always a time that was measured, never an
//! interpolation between two, and it needs no floating point; with few samples it leans
//! high (the p95 of 2 samples is the larger), which is the safe side for a latency claim.
//! The median is the 50th percentile by the same rule (the lower middle of an even count).

use std::time::Duration;

/// Summary statistics of a non-empty set of durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// How many samples.
    pub count: usize,
    /// The 50th percentile (nearest rank).
    pub median: Duration,
    /// The 95th percentile (nearest rank).
    pub p95: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
    /// The largest sample.
    pub max: Duration,
}

impl Stats {
    /// The statistics of `samples` (in any order); `None` when there are none.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Self {
            count: sorted.len(),
            median: nearest_rank(&sorted, 50)?,
            p95: nearest_rank(&sorted, 95)?,
            p99: nearest_rank(&sorted, 99)?,
            max: *sorted.last()?,
        })
    }
}

/// The `percent`-th percentile of `sorted` (ascending) by nearest rank: the sample of rank
/// ⌈percent·n/100⌉, at least the first. `None` for no samples or a percent over 100.
pub fn nearest_rank(sorted: &[Duration], percent: u32) -> Option<Duration> {
    if percent > 100 {
        return None;
    }
    let n = u128::try_from(sorted.len()).ok()?;
    let rank = (n * u128::from(percent)).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank).ok()? - 1).copied()
}

/// One labelled row of statistics: what a latency table and chart show per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What was timed (`READ BINARY`).
    pub label: String,
    /// Its statistics.
    pub stats: Stats,
}

/// Groups labelled samples into rows, in the order the labels first appear. Callers that
/// want another order (the instruction table's) sort the samples, or the rows, themselves.
pub fn rows<L: Into<String> + AsRef<str>>(
    samples: impl IntoIterator<Item = (L, Duration)>,
) -> Vec<Row> {
    let mut groups: Vec<(String, Vec<Duration>)> = Vec::new();
    for (label, d) in samples {
        match groups.iter_mut().find(|(l, _)| l == label.as_ref()) {
            Some((_, v)) => v.push(d),
            None => groups.push((label.into(), vec![d])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(label, v)| Stats::of(&v).map(|stats| Row { label, stats }))
        .collect()
}

/// A duration for people, in the unit that suits it: `850 µs`, `1.25 ms`, `12.5 ms`,
/// `2.04 s` (three significant figures from a millisecond up).
pub fn format_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        return format!("{micros} µs");
    }
    let (value, unit) = if micros < 1_000_000 {
        (micros as f64 / 1e3, "ms")
    } else {
        (micros as f64 / 1e6, "s")
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    format!("{value:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let s = Stats::of(&[ms(7)]).unwrap();
        assert_eq!(
            s,
            Stats {
                count: 1,
                median: ms(7),
                p95: ms(7),
                p99: ms(7),
                max: ms(7)
            }
        );
    }

    /// Nearest rank with two samples: the median is the lower (rank ⌈1⌉), p95 and p99 the
    /// higher (rank ⌈1.9⌉ = ⌈1.98⌉ = 2); order of input does not matter.
    #[test]
    fn two_samples_split_at_the_median() {
        let s = Stats::of(&[ms(9), ms(3)]).unwrap();
        assert_eq!(
            (s.count, s.median, s.p95, s.p99, s.max),
            (2, ms(3), ms(9), ms(9), ms(9))
        );
    }

    #[test]
    fn hundred_samples_take_the_ranked_sample() {
        let samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let s = Stats::of(&samples).unwrap();
        assert_eq!(
            (s.median, s.p95, s.p99, s.max),
            (ms(50), ms(95), ms(99), ms(100))
        );
        // 101 samples: rank ⌈95.95⌉ = 96, ⌈99.99⌉ = 100, ⌈50.5⌉ = 51.
        let samples: Vec<Duration> = (1..=101).map(ms).collect();
        let s = Stats::of(&samples).unwrap();
        assert_eq!(
            (s.median, s.p95, s.p99, s.max),
            (ms(51), ms(96), ms(100), ms(101))
        );
    }

    #[test]
    fn edges_give_none_rather_than_panic() {
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[ms(1)], 101), None);
        assert_eq!(nearest_rank(&[ms(1), ms(2)], 0), Some(ms(1)));
        assert_eq!(nearest_rank(&[ms(1), ms(2)], 100), Some(ms(2)));
    }

    #[test]
    fn rows_group_by_label_in_first_seen_order() {
        let rows = rows([
            ("READ BINARY", ms(2)),
            ("SELECT", ms(1)),
            ("READ BINARY", ms(4)),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].label, "READ BINARY");
        assert_eq!((rows[0].stats.count, rows[0].stats.max), (2, ms(4)));
        assert_eq!(rows[1].label, "SELECT");
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(format_duration(Duration::from_micros(0)), "0 µs");
        assert_eq!(format_duration(Duration::from_micros(850)), "850 µs");
        assert_eq!(format_duration(Duration::from_micros(1_250)), "1.25 ms");
        assert_eq!(format_duration(Duration::from_micros(12_540)), "12.5 ms");
        assert_eq!(format_duration(Duration::from_micros(125_400)), "125 ms");
        assert_eq!(format_duration(Duration::from_micros(2_040_000)), "2.04 s");
    }
}
