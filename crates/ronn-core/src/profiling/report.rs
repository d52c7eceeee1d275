//! [`ProfileReport`]: per-op statistics (count, total, avg, min, max, std dev, share
//! of time) computed from a profiler's events, as a terminal table or JSON.

use std::collections::HashMap;
use std::fmt;

use super::{ProfileCategory, ProfileEvent};

/// Statistics of one group of events: an op type for node events, else a scope name.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportEntry {
    /// Op type (node events) or scope name (other events).
    pub name: String,
    /// The events' category.
    pub category: ProfileCategory,
    /// How many events.
    pub count: u64,
    /// Sum of durations, µs.
    pub total_us: f64,
    /// Mean duration, µs.
    pub avg_us: f64,
    /// Shortest, µs.
    pub min_us: f64,
    /// Longest, µs.
    pub max_us: f64,
    /// Population standard deviation of the durations, µs.
    pub std_dev_us: f64,
    /// This group's share of the summed time of all groups, in percent.
    pub share_pct: f64,
}

/// A summary of a profile, sorted by total time, longest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileReport {
    /// One entry per op type / scope name.
    pub entries: Vec<ReportEntry>,
    /// Sum of all event durations, µs.
    pub total_us: f64,
    /// Events summarized.
    pub event_count: u64,
    /// Events the profiler dropped (buffer full); they are not in the statistics.
    pub dropped_events: u64,
}

impl ProfileReport {
    /// Groups `events`: node events (category ops with an op type) by op type, others by name.
    pub fn from_events(events: &[ProfileEvent], dropped_events: u64) -> Self {
        let mut groups: HashMap<(ProfileCategory, &str), Vec<f64>> = HashMap::new();
        for e in events {
            let key = match (&e.op_type, e.category) {
                (Some(op), ProfileCategory::Ops) => op.as_str(),
                _ => e.name.as_str(),
            };
            groups.entry((e.category, key)).or_default().push(e.duration_us);
        }
        let total_us: f64 = events.iter().map(|e| e.duration_us).sum();
        let mut entries: Vec<ReportEntry> = groups
            .into_iter()
            .map(|((category, name), durs)| {
                let count = durs.len() as u64;
                let total: f64 = durs.iter().sum();
                let avg = total / durs.len() as f64;
                let var = durs.iter().map(|d| (d - avg) * (d - avg)).sum::<f64>() / durs.len() as f64;
                ReportEntry {
                    name: name.to_string(),
                    category,
                    count,
                    total_us: total,
                    avg_us: avg,
                    min_us: durs.iter().copied().fold(f64::INFINITY, f64::min),
                    max_us: durs.iter().copied().fold(0.0, f64::max),
                    std_dev_us: var.sqrt(),
                    share_pct: if total_us > 0.0 { total / total_us * 100.0 } else { 0.0 },
                }
            })
            .collect();
        entries.sort_by(|a, b| b.total_us.total_cmp(&a.total_us).then_with(|| a.name.cmp(&b.name)));
        ProfileReport { entries, total_us, event_count: events.len() as u64, dropped_events }
    }

    /// The entry for an op type or scope name, if any.
    pub fn entry(&self, name: &str) -> Option<&ReportEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Prints the table to stdout.
    pub fn print(&self) {
        print!("{self}");
    }

    /// The report as a JSON object (`entries`, `total_us`, `event_count`, `dropped_events`).
    pub fn to_json(&self) -> String {
        let entries: Vec<serde_json::Value> = self
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "name": e.name,
                    "category": e.category.name(),
                    "count": e.count,
                    "total_us": e.total_us,
                    "avg_us": e.avg_us,
                    "min_us": e.min_us,
                    "max_us": e.max_us,
                    "std_dev_us": e.std_dev_us,
                    "share_pct": e.share_pct,
                })
            })
            .collect();
        serde_json::json!({
            "entries": entries,
            "total_us": self.total_us,
            "event_count": self.event_count,
            "dropped_events": self.dropped_events,
        })
        .to_string()
    }
}

impl fmt::Display for ProfileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<28} {:<9} {:>7} {:>12} {:>10} {:>10} {:>10} {:>10} {:>7}",
            "op / scope", "category", "count", "total ms", "avg µs", "min µs", "max µs", "std µs", "share"
        )?;
        for e in &self.entries {
            writeln!(
                f,
                "{:<28} {:<9} {:>7} {:>12.3} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>6.1}%",
                e.name,
                e.category.name(),
                e.count,
                e.total_us / 1000.0,
                e.avg_us,
                e.min_us,
                e.max_us,
                e.std_dev_us,
                e.share_pct
            )?;
        }
        writeln!(f, "total {:.3} ms in {} events", self.total_us / 1000.0, self.event_count)?;
        if self.dropped_events > 0 {
            writeln!(f, "{} events dropped (max_events reached)", self.dropped_events)?;
        }
        Ok(())
    }
}
