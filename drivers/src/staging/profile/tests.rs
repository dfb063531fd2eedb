use std::path::PathBuf;

use super::*;

const MINIMAL: &str = r#"
environment = "staging"
[target]
edge_url = "http://edge.example:8080/"
[credentials]
operator_client_id_env = "OP_ID"
operator_client_secret_env = "OP_SECRET"
[traces]
backend = "tempo"
url = "http://tempo:3200"
"#;

fn parse(text: &str) -> Result<Profile, ProfileError> {
    Profile::parse(text, "test.toml", false)
}

/// `MINIMAL` with `line` inserted under `[section]` (or at the top for "").
fn with(section: &str, line: &str) -> String {
    if section.is_empty() {
        format!("{line}\n{MINIMAL}")
    } else {
        MINIMAL.replace(&format!("[{section}]\n"), &format!("[{section}]\n{line}\n"))
    }
}

fn invalid_key(result: Result<Profile, ProfileError>) -> (String, String) {
    match result {
        Err(ProfileError::Invalid { key, why, .. }) => (key, why),
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/profiles")
        .join(name)
}

#[test]
fn a_minimal_profile_gets_the_defaults() {
    let profile = parse(MINIMAL).unwrap();
    assert_eq!(profile.environment(), "staging");
    assert_eq!(profile.tags(), ["@staging-safe"]);
    assert_eq!(profile.edge_url(), "http://edge.example:8080");
    assert_eq!(profile.credentials().client_secret, "OP_SECRET");
    assert_eq!(profile.traces().kind, TraceBackendKind::Tempo);
    assert_eq!(profile.otlp_traces_url(), None);
    assert_eq!(profile.settle().deadline, DEFAULT_DEADLINE);
    assert_eq!(profile.settle().quiet_period, DEFAULT_QUIET_PERIOD);
}

#[test]
fn every_example_profile_in_fixtures_loads() {
    for name in ["local.toml", "staging-jaeger.toml", "staging-tempo.toml"] {
        let profile = Profile::load(fixture(name), false)
            .unwrap_or_else(|e| panic!("{name} should load: {e}"));
        assert!(!profile.is_production(), "{name}");
    }
    let local = Profile::load(fixture("local.toml"), false).unwrap();
    assert_eq!(local.traces().kind, TraceBackendKind::Jaeger);
    assert_eq!(local.traces().url, "http://127.0.0.1:16686");
    assert_eq!(
        local.otlp_traces_url(),
        Some("http://127.0.0.1:4318/v1/traces")
    );
    let tempo = Profile::load(fixture("staging-tempo.toml"), false).unwrap();
    assert_eq!(tempo.settle().quiet_period, Duration::from_secs(10));
}

#[test]
fn production_is_refused_without_the_override() {
    let err = Profile::load(fixture("production.toml"), false).unwrap_err();
    assert!(matches!(err, ProfileError::Production { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("production.toml"), "{message}");
    assert!(message.contains("--i-know-this-is-production"), "{message}");
}

#[test]
fn production_loads_with_the_override() {
    let profile = Profile::load(fixture("production.toml"), true).unwrap();
    assert!(profile.is_production());
    assert_eq!(
        profile.tag_expression(),
        "@staging-safe and @production-safe"
    );
}

#[test]
fn prod_in_any_case_counts_as_production() {
    let text = MINIMAL.replace("\"staging\"", "\" PROD \"");
    assert!(matches!(parse(&text), Err(ProfileError::Production { .. })));
}

#[test]
fn a_literal_secret_is_refused_naming_the_key_but_not_the_value() {
    let err = parse(&with("credentials", "operator_client_secret = \"hunter2\"")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("credentials.operator_client_secret"),
        "{message}"
    );
    assert!(message.contains("test.toml"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn a_secret_is_refused_even_under_an_unknown_key() {
    let (key, _) = invalid_key(parse(&with("traces", "api_token = \"abc\"")));
    assert_eq!(key, "traces.api_token");
}

#[test]
fn a_credential_variable_must_be_a_variable_name() {
    let text = MINIMAL.replace("\"OP_ID\"", "\"my id\"");
    let (key, why) = invalid_key(parse(&text));
    assert_eq!(key, "credentials.operator_client_id_env");
    assert!(why.contains("environment variable"), "{why}");
}

#[test]
fn unknown_keys_are_refused_with_the_line() {
    let text = MINIMAL.replace("[traces]", "[settle]\ndealine = \"5s\"\n[traces]");
    let err = parse(&text).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ProfileError::Syntax { .. }), "{err:?}");
    assert!(
        message.contains("dealine") && message.contains("line"),
        "{message}"
    );
}

#[test]
fn a_missing_required_key_is_named() {
    let text = MINIMAL.replace("edge_url = \"http://edge.example:8080/\"\n", "");
    let message = parse(&text).unwrap_err().to_string();
    assert!(message.contains("edge_url"), "{message}");
}

#[test]
fn malformed_toml_is_a_syntax_error_naming_the_file() {
    let message = parse("environment = ").unwrap_err().to_string();
    assert!(
        message.starts_with("profile test.toml is not a valid profile"),
        "{message}"
    );
}

#[test]
fn a_missing_file_is_named() {
    let err = Profile::load("/nonexistent/nowhere.toml", false).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/nowhere.toml"),
        "{err}"
    );
}

#[test]
fn an_unknown_trace_backend_is_refused() {
    let (key, why) = invalid_key(parse(&MINIMAL.replace("\"tempo\"", "\"zipkin\"")));
    assert_eq!(key, "traces.backend");
    assert!(why.contains("zipkin") && why.contains("jaeger"), "{why}");
}

#[test]
fn urls_must_be_http_with_a_host_and_no_credentials() {
    for bad in [
        "edge.example",
        "ftp://edge.example",
        "http://user:pw@edge.example",
    ] {
        let text = MINIMAL.replace("http://edge.example:8080/", bad);
        let (key, _) = invalid_key(parse(&text));
        assert_eq!(key, "target.edge_url", "{bad}");
    }
    let (key, _) = invalid_key(parse(&with("traces", "otlp_traces_url = \"nope\"")));
    assert_eq!(key, "traces.otlp_traces_url");
}

#[test]
fn tags_are_normalised_and_an_empty_list_is_refused() {
    let profile = parse(&with("", "tags = [\"staging-safe\", \"@smoke\"]")).unwrap();
    assert_eq!(profile.tags(), ["@staging-safe", "@smoke"]);
    let (key, _) = invalid_key(parse(&with("", "tags = []")));
    assert_eq!(key, "tags");
    let (key, _) = invalid_key(parse(&with("", "tags = [\"two words\"]")));
    assert_eq!(key, "tags");
}

#[test]
fn a_scenario_runs_only_with_every_profile_tag() {
    let profile = parse(&with("", "tags = [\"@staging-safe\", \"@smoke\"]")).unwrap();
    assert!(profile.selects(&["staging-safe", "smoke", "payments"]));
    assert!(profile.selects(&["@staging-safe", "@smoke"]));
    assert!(!profile.selects(&["staging-safe"]));
    assert!(!profile.selects::<&str>(&[]));
}

#[test]
fn settle_durations_parse_with_units() {
    let profile = parse(&MINIMAL.replace(
        "[traces]",
        "[settle]\ndeadline = \"1m30s\"\nquiet_period = \"750ms\"\n[traces]",
    ))
    .unwrap();
    assert_eq!(profile.settle().deadline, Duration::from_secs(90));
    assert_eq!(profile.settle().quiet_period, Duration::from_millis(750));
}

#[test]
fn bad_durations_name_their_key() {
    for (line, key) in [
        ("deadline = \"soon\"", "settle.deadline"),
        ("deadline = \"5\"", "settle.deadline"),
        ("quiet_period = \"0s\"", "settle.quiet_period"),
        ("quiet_period = \"5h\"", "settle.quiet_period"),
    ] {
        let text = MINIMAL.replace("[traces]", &format!("[settle]\n{line}\n[traces]"));
        assert_eq!(invalid_key(parse(&text)).0, key, "{line}");
    }
}

#[test]
fn the_quiet_period_must_be_shorter_than_the_deadline() {
    let text = MINIMAL.replace(
        "[traces]",
        "[settle]\ndeadline = \"2s\"\nquiet_period = \"2s\"\n[traces]",
    );
    let (key, why) = invalid_key(parse(&text));
    assert_eq!(key, "settle.quiet_period");
    assert!(why.contains("shorter"), "{why}");
}

#[test]
fn a_duration_needs_a_known_unit_after_every_number() {
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("1m5s"), Ok(Duration::from_secs(65)));
    assert!(parse_duration("s").is_err());
    assert!(parse_duration("10 s").is_err());
    assert!(parse_duration("1.5s").is_err());
    assert!(parse_duration("").is_err());
}
