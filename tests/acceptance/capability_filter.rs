//! Which scenarios run: the user's `--name`/`--tags` selection, minus the scenarios the driver
//! does not take (staging: only its profile's tags) and those that need a capability the
//! driver lacks (tagged `@needs-<capability>`). Those are recorded with the reason, to be
//! listed in the summary, instead of failing as skipped. With `--shard K/N`, only the
//! selected scenarios of this shard's share (`shard.rs`).

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use cucumber::{
    gherkin::{self, tagexpr::TagOperation},
    tag::Ext as _,
};
use drivers::{Capabilities, Capability, select::Selection};
use parking_lot::Mutex;
use regex::Regex;

use crate::{outcome::scenario_key, shard::Share};

/// A scenario left out because of the driver.
#[derive(Debug, Clone)]
pub struct NotRun {
    /// `<feature file>:<line>: <scenario name>`.
    pub scenario: String,
    /// Why, e.g. `needs restart, logs`.
    pub reason: String,
}

/// The filter `Cucumber::filter_run` is given; clones share the list of scenarios left out.
#[derive(Clone)]
pub struct ScenarioFilter {
    name: Option<Regex>,
    tags: Option<TagOperation>,
    capabilities: Capabilities,
    driver_selection: Option<Arc<Selection>>,
    /// This shard's share of the selection (`--shard K/N`).
    share: Option<Arc<Share>>,
    /// Scenarios left out for a missing capability.
    pub not_run: Arc<Mutex<Vec<NotRun>>>,
    /// Scenarios the filter was asked about, and those it kept.
    counts: Arc<(AtomicUsize, AtomicUsize)>,
}

impl ScenarioFilter {
    /// A filter with the user's selection (taken out of cucumber's options, since cucumber
    /// would otherwise apply it *instead of* our filter) and the driver's capabilities.
    pub fn new(
        name: Option<Regex>,
        tags: Option<TagOperation>,
        capabilities: Capabilities,
        driver_selection: Option<Selection>,
    ) -> Self {
        ScenarioFilter {
            name,
            tags,
            capabilities,
            driver_selection: driver_selection.map(Arc::new),
            share: None,
            not_run: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// The same filter, narrowed to one shard's share of what it selects.
    pub fn with_share(mut self, share: Share) -> Self {
        self.share = Some(Arc::new(share));
        self
    }

    /// Whether the user's `--name`/`--tags` selection takes the scenario (the driver aside).
    pub fn selects(
        &self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
    ) -> bool {
        let tags = feature
            .tags
            .iter()
            .chain(rule.iter().flat_map(|r| &r.tags))
            .chain(&scenario.tags);
        match (&self.name, &self.tags) {
            (Some(re), _) => re.is_match(&scenario.name),
            (None, Some(expr)) => expr.eval(tags),
            (None, None) => true,
        }
    }

    /// When the run selected no scenario at all, why (a run that runs nothing must not look
    /// like a pass); `None` when some scenario was kept.
    pub fn nothing_selected(&self, input: &str) -> Option<String> {
        let (seen, kept) = (
            self.counts.0.load(Ordering::Relaxed),
            self.counts.1.load(Ordering::Relaxed),
        );
        if kept > 0 {
            return None;
        }
        if let Some(share) = self.share.as_deref().filter(|s| s.keys.is_empty()) {
            return Some(format!(
                "shard {} got none of the {} selected scenario(s) in {input}: fewer shards, or more scenarios",
                share.spec, share.of
            ));
        }
        let left_out = self.not_run.lock().len();
        Some(if seen == 0 {
            format!("no scenario was found in {input}")
        } else if left_out > 0 {
            format!(
                "of the {seen} scenario(s) in {input}, every one selected needs what this driver cannot do (listed above)"
            )
        } else {
            let filter = match (&self.name, &self.tags) {
                (Some(re), _) => format!("--name {re}"),
                (None, Some(_)) => "the --tags expression".to_owned(),
                (None, None) => "the driver's selection".to_owned(),
            };
            format!("{filter} selected none of the {seen} scenario(s) in {input}")
        })
    }

    /// Whether the scenario runs.
    pub fn keep(
        &self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
    ) -> bool {
        self.counts.0.fetch_add(1, Ordering::Relaxed);
        let keep = self.decide(feature, rule, scenario);
        if keep {
            self.counts.1.fetch_add(1, Ordering::Relaxed);
        }
        keep
    }

    fn decide(
        &self,
        feature: &gherkin::Feature,
        rule: Option<&gherkin::Rule>,
        scenario: &gherkin::Scenario,
    ) -> bool {
        let tags = || {
            feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(&scenario.tags)
        };
        if !self.selects(feature, rule, scenario) {
            return false;
        }
        if let Some(share) = &self.share
            && !share.keys.contains(&scenario_key(feature, scenario))
        {
            // Another shard's: it runs (or lists as not run) there.
            return false;
        }
        if let Some(selection) = &self.driver_selection {
            let all: Vec<String> = tags().cloned().collect();
            if !(selection.selects)(&all) {
                self.left_out(feature, scenario, selection.reason.clone());
                return false;
            }
        }
        let mut missing: Vec<Capability> = tags()
            .filter_map(|t| Capability::from_tag(t))
            .filter(|c| !self.capabilities.has(*c))
            .collect();
        missing.sort();
        missing.dedup();
        if missing.is_empty() {
            return true;
        }
        let needs: Vec<String> = missing.iter().map(Capability::to_string).collect();
        self.left_out(feature, scenario, format!("needs {}", needs.join(", ")));
        false
    }

    fn left_out(&self, feature: &gherkin::Feature, scenario: &gherkin::Scenario, reason: String) {
        self.not_run.lock().push(NotRun {
            scenario: scenario_key(feature, scenario),
            reason,
        });
    }
}
