//! `--shard K/N`: one machine's share of a suite split across N (a CI matrix). Every shard
//! reads the same features and makes the same split, so the N shares are disjoint, cover the
//! selection, and stay the same from run to run while the features do.
//!
//! The split is over the scenarios the user selected (`--input`, `--tags`, `--name`), before
//! the driver's own filter: a scenario the driver leaves out is reported by one shard only.
//! Balanced by count (scenarios in key order, dealt in turn), or, with `--shard-durations
//! FILE` (a previous run's Cucumber JSON), by each scenario's recorded duration: longest
//! first, each to the shard with the least time so far (a scenario the file does not know
//! counts as the average of those it does).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::Path,
    str::FromStr,
};

use anyhow::Context as _;
use serde_json::Value;

/// `K/N`: shard K (from 1) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    /// Which shard, from 1.
    pub index: usize,
    /// How many shards.
    pub total: usize,
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let wrong = || format!("{s:?} is not K/N (shard K of N, 1 <= K <= N), e.g. 2/3");
        let (k, n) = s.split_once('/').ok_or_else(wrong)?;
        let (index, total): (usize, usize) = (
            k.trim().parse().map_err(|_| wrong())?,
            n.trim().parse().map_err(|_| wrong())?,
        );
        if index == 0 || total == 0 || index > total {
            return Err(wrong());
        }
        Ok(ShardSpec { index, total })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// Recorded durations in seconds, by scenario key `<file>:<line>: <name>`.
pub type Durations = BTreeMap<String, f64>;

/// This shard's scenarios and how the split was made.
#[derive(Debug, Clone)]
pub struct Share {
    /// Which shard.
    pub spec: ShardSpec,
    /// The keys of the scenarios this shard runs.
    pub keys: BTreeSet<String>,
    /// How many scenarios were split.
    pub of: usize,
    /// `by count`, or `by the durations in FILE`.
    pub balanced: String,
}

impl Share {
    /// One line for the start of the run.
    pub fn describe(&self) -> String {
        format!(
            "shard {} runs {} of the {} selected scenarios (balanced {})",
            self.spec,
            self.keys.len(),
            self.of,
            self.balanced
        )
    }
}

/// Splits `keys` (each selected scenario once) into `total` shares; returns each key's shard
/// (from 0). Deterministic: the same keys and durations always give the same split.
pub fn split(
    keys: &BTreeSet<String>,
    total: usize,
    durations: Option<&Durations>,
) -> BTreeMap<String, usize> {
    let known: Vec<f64> = durations
        .map(|d| keys.iter().filter_map(|k| d.get(k).copied()).collect())
        .unwrap_or_default();
    let unknown = if known.is_empty() {
        1.0
    } else {
        known.iter().sum::<f64>() / known.len() as f64
    };
    let weight = |key: &String| match durations {
        Some(d) => d.get(key).copied().unwrap_or(unknown),
        None => 1.0,
    };
    // Longest first (ties in key order); each to the lightest shard (ties: the lowest). With
    // equal weights this deals the keys in turn.
    let mut order: Vec<(&String, f64)> = keys.iter().map(|k| (k, weight(k))).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut load = vec![0.0_f64; total];
    let mut assigned = BTreeMap::new();
    for (key, weight) in order {
        let lightest = (0..total)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[lightest] += weight;
        assigned.insert(key.clone(), lightest);
    }
    assigned
}

/// The share of shard `spec` among `keys`.
pub fn share(
    spec: ShardSpec,
    keys: &BTreeSet<String>,
    durations: Option<(&Path, &Durations)>,
) -> Share {
    let assigned = split(keys, spec.total, durations.map(|(_, d)| d));
    Share {
        spec,
        keys: assigned
            .into_iter()
            .filter(|(_, shard)| *shard + 1 == spec.index)
            .map(|(key, _)| key)
            .collect(),
        of: keys.len(),
        balanced: match durations {
            Some((path, _)) => format!("by the durations recorded in {}", path.display()),
            None => "by count".to_owned(),
        },
    }
}

/// Each scenario's duration in a Cucumber JSON report (its steps' and hooks' times summed;
/// attempts of a retried scenario added up).
pub fn read_durations(path: &Path) -> anyhow::Result<Durations> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let features: Vec<Value> = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Cucumber JSON report", path.display()))?;
    let mut durations = Durations::new();
    for feature in &features {
        let file = feature["uri"]
            .as_str()
            .map(|uri| uri.rsplit(['/', '\\']).next().unwrap_or(uri).to_owned())
            .unwrap_or_default();
        for element in feature["elements"].as_array().into_iter().flatten() {
            let (Some(line), Some(name)) = (element["line"].as_u64(), element["name"].as_str())
            else {
                continue;
            };
            let nanos: u64 = ["before", "steps", "after"]
                .iter()
                .flat_map(|part| element[*part].as_array().into_iter().flatten())
                .filter_map(|item| item["result"]["duration"].as_u64())
                .sum();
            *durations
                .entry(format!("{file}:{line}: {name}"))
                .or_default() += nanos as f64 / 1e9;
        }
    }
    anyhow::ensure!(
        !durations.is_empty(),
        "{} records no scenario",
        path.display()
    );
    Ok(durations)
}
