//! Timing: every exchange's time, grouped by instruction, and the whole-flow times of the
//! typical sequences. The statistics (count, median, p95, p99, max by nearest rank) are the
//! reports' shared [`latency`](crate::report::latency) ones; this module only gathers the
//! samples and gives them a serialisable shape (microseconds).

use std::time::Duration;

use serde::Serialize;

use crate::report::latency::{self, Row, Stats};

/// Statistics in microseconds, for JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Micros {
    /// Samples.
    pub count: usize,
    /// Median (p50).
    pub median_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest.
    pub max_us: u64,
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl From<Stats> for Micros {
    fn from(s: Stats) -> Self {
        Self {
            count: s.count,
            median_us: us(s.median),
            p95_us: us(s.p95),
            p99_us: us(s.p99),
            max_us: us(s.max),
        }
    }
}

/// One instruction's row.
#[derive(Debug, Clone, Serialize)]
pub struct InstructionTiming {
    /// The instruction's name (`READ BINARY`, `VERIFY (retry query)`).
    pub instruction: String,
    /// Its statistics.
    #[serde(flatten)]
    pub micros: Micros,
    /// The same, for the shared table and chart.
    #[serde(skip)]
    pub row: Row,
}

/// One flow's row.
#[derive(Debug, Clone, Serialize)]
pub struct FlowTiming {
    /// `card check`, `certificate read`, `signature`.
    pub flow: String,
    /// The case that ran it.
    pub case: String,
    /// The statistics of its runs (each run: the sum of its exchanges' times).
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub micros: Option<Micros>,
    /// The same, for the shared table and chart.
    #[serde(skip)]
    pub row: Option<Row>,
    /// Why it has no figures (skipped, failed, not run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

impl FlowTiming {
    /// A flow's row from its runs' times.
    pub fn of(flow: &str, case: &str, runs: &[Duration], missing: Option<String>) -> Self {
        let stats = Stats::of(runs);
        Self {
            flow: flow.to_owned(),
            case: case.to_owned(),
            micros: stats.map(Micros::from),
            row: stats.map(|stats| Row {
                label: flow.to_owned(),
                stats,
            }),
            missing: if stats.is_some() { None } else { missing },
        }
    }
}

/// Collects exchange times by instruction.
#[derive(Debug, Default)]
pub struct Collector {
    samples: Vec<(String, Duration)>,
}

impl Collector {
    /// Adds one exchange.
    pub fn add(&mut self, instruction: &str, elapsed: Duration) {
        self.samples.push((instruction.to_owned(), elapsed));
    }

    /// The table, by instruction name.
    pub fn table(&self) -> Vec<InstructionTiming> {
        let mut sorted = self.samples.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        latency::rows(sorted)
            .into_iter()
            .map(|row| InstructionTiming {
                instruction: row.label.clone(),
                micros: row.stats.into(),
                row,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collector_groups_by_instruction_in_name_order() {
        let mut c = Collector::default();
        let ms = Duration::from_millis;
        c.add("SELECT DF", ms(1));
        c.add("READ BINARY", ms(5));
        c.add("READ BINARY", ms(3));
        let t = c.table();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].instruction, "READ BINARY");
        assert_eq!(
            t[0].micros,
            Micros {
                count: 2,
                median_us: 3000,
                p95_us: 5000,
                p99_us: 5000,
                max_us: 5000
            }
        );
        assert_eq!(t[1].micros.count, 1);
    }

    #[test]
    fn a_flow_without_runs_says_why() {
        let f = FlowTiming::of(
            "signature",
            "MNC-FLOW-SIGNATURE",
            &[],
            Some("skipped".into()),
        );
        assert!(f.micros.is_none() && f.row.is_none());
        assert_eq!(f.missing.as_deref(), Some("skipped"));
        let g = FlowTiming::of("card check", "X", &[Duration::from_micros(7)], None);
        assert_eq!(g.micros.map(|m| m.max_us), Some(7));
        assert!(g.missing.is_none());
    }
}
