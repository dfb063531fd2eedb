//! Each scenario's own namespace of fake data.
//!
//! Scenarios share one platform, so every name, key and reference a scenario creates carries
//! a short tag unique to it. The tag and the fake names come from a random generator seeded by
//! the run's seed plus the scenario's identity (feature, name, line): the same `--seed` gives
//! the same names, scenario by scenario, whatever order the scenarios run in.
//!
//! Ids the platform insists are unique forever (top-up operation ids, idempotency keys) also
//! carry a part of this run's own ([`Namespace::with_run`]): replaying a seed against a
//! long-lived deployment that has seen it reproduces the same fake data without reusing an id.

use fake::{
    Fake,
    faker::{company::en::CompanyName, name::en::FirstName, name::en::LastName},
    rand::{SeedableRng, rngs::ChaCha8Rng},
};
use sha2::{Digest, Sha256};

/// A scenario's namespace: a tag plus a deterministic generator of fake data.
pub struct Namespace {
    tag: String,
    rng: ChaCha8Rng,
    /// This run's own part of platform-unique ids (empty: none).
    run: String,
}

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Namespace").field("tag", &self.tag).finish()
    }
}

impl Namespace {
    /// The namespace of one scenario, from the run seed and the scenario's identity.
    pub fn for_scenario(seed: u64, scenario_identity: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(scenario_identity.as_bytes())
            .finalize();
        let tag = format!("s{}", hex::encode(&digest[..3]));
        let mut key = [0u8; 32];
        key.copy_from_slice(&digest[..32]);
        Self {
            tag,
            rng: ChaCha8Rng::from_seed(key),
            run: String::new(),
        }
    }

    /// The same namespace, whose platform-unique ids also carry `run` (this run's own part).
    pub fn with_run(mut self, run: &str) -> Self {
        self.run = run.to_owned();
        self
    }

    /// `-<run>` when the namespace has a run part.
    fn run_suffix(&self) -> String {
        if self.run.is_empty() {
            String::new()
        } else {
            format!("-{}", self.run)
        }
    }

    /// The scenario's tag, e.g. `s3f9a1c`.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// A fake person's name in this namespace, e.g. `Alice Kuhn [s3f9a1]`: the alias's first
    /// name is kept so logs stay readable.
    pub fn person(&mut self, alias: &str) -> String {
        let first = alias
            .split_whitespace()
            .next()
            .map(str::to_owned)
            .unwrap_or_else(|| FirstName().fake_with_rng(&mut self.rng));
        let last: String = LastName().fake_with_rng(&mut self.rng);
        format!("{first} {last} [{}]", self.tag)
    }

    /// A fake company name in this namespace, e.g. `Acme Coffee (Kuhn LLC) [s3f9a1]`.
    pub fn company(&mut self, alias: &str) -> String {
        let company: String = CompanyName().fake_with_rng(&mut self.rng);
        format!("{alias} ({company}) [{}]", self.tag)
    }

    /// A key unique to this scenario and run: `<tag>-<what>-<n>[-<run>]` with `n` from the seed.
    pub fn unique(&mut self, what: &str) -> String {
        let n: u32 = (0..u32::MAX).fake_with_rng(&mut self.rng);
        format!("{}-{what}-{n:08x}{}", self.tag, self.run_suffix())
    }

    /// Namespaces a key chosen in a feature file (`retry-1` → `s3f9a1-retry-1[-<run>]`).
    pub fn scoped(&self, key: &str) -> String {
        format!("{}-{key}{}", self.tag, self.run_suffix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_scenario_give_the_same_names() {
        let mut a = Namespace::for_scenario(7, "payments.feature:12");
        let mut b = Namespace::for_scenario(7, "payments.feature:12");
        assert_eq!(a.person("Alice"), b.person("Alice"));
        assert_eq!(a.company("Acme"), b.company("Acme"));
        assert_eq!(a.unique("key"), b.unique("key"));
    }

    #[test]
    fn a_replay_keeps_the_names_but_not_the_platform_unique_ids() {
        let mut first = Namespace::for_scenario(42, "payments.feature:12").with_run("r1");
        let mut replay = Namespace::for_scenario(42, "payments.feature:12").with_run("r2");
        assert_eq!(first.tag(), replay.tag());
        assert_eq!(first.person("Alice"), replay.person("Alice"));
        let (a, b) = (first.unique("top-up"), replay.unique("top-up"));
        assert_ne!(a, b, "a replay must not reuse a top-up operation id");
        assert_eq!(a.trim_end_matches("-r1"), b.trim_end_matches("-r2"));
        assert_ne!(first.scoped("order-42"), replay.scoped("order-42"));
    }

    #[test]
    fn other_scenarios_and_seeds_get_other_tags() {
        let a = Namespace::for_scenario(7, "payments.feature:12");
        assert_ne!(
            a.tag(),
            Namespace::for_scenario(7, "payments.feature:30").tag()
        );
        assert_ne!(
            a.tag(),
            Namespace::for_scenario(8, "payments.feature:12").tag()
        );
    }

    #[test]
    fn names_carry_the_alias_and_the_tag() {
        let mut ns = Namespace::for_scenario(1, "x");
        let name = ns.person("Alice");
        assert!(name.starts_with("Alice "), "{name}");
        assert!(name.ends_with(&format!("[{}]", ns.tag())), "{name}");
    }
}
