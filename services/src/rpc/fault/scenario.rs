//! Which scenario a call is made for. The harness names the scenario in the W3C `baggage` of
//! every request it sends (`minibank.scenario=<namespace>`); every hop passes baggage on, the
//! saga and the outbox included (they store the context with the work), so a call made for a
//! scenario, however far behind edge and however late, still names it. A fault rule scoped to
//! a scenario matches only those calls, and scenarios running side by side never meet it.

use http::HeaderMap;
use opentelemetry::baggage::BaggageExt as _;

use crate::rpc::propagation::extract_from_headers;

/// The baggage member naming the scenario a request is made for.
pub const SCENARIO_BAGGAGE_KEY: &str = "minibank.scenario";

/// The scenario named in `headers`' `baggage`, read as every hop reads baggage
/// ([`extract_from_headers`]: every `baggage` header, properties ignored, the value
/// percent-decoded), if any.
pub fn scenario_of(headers: &HeaderMap) -> Option<String> {
    extract_from_headers(headers)
        .baggage()
        .get(SCENARIO_BAGGAGE_KEY)
        .map(|value| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("baggage", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn the_scenario_member_is_found_among_others_with_spaces_and_properties() {
        for value in [
            "minibank.scenario=s3f9a1",
            "minibank.channel=mobile, minibank.scenario = s3f9a1 ;prop=1",
            "a=b,minibank.scenario=s3f9a1,c=d",
            "minibank.scenario=s3f%39a1",
        ] {
            assert_eq!(
                scenario_of(&headers(&[value])).as_deref(),
                Some("s3f9a1"),
                "{value}"
            );
        }
        assert_eq!(
            scenario_of(&headers(&[
                "minibank.channel=mobile",
                "minibank.scenario=s1"
            ]))
            .as_deref(),
            Some("s1"),
            "members of a second baggage header count too"
        );
    }

    #[test]
    fn no_scenario_without_the_member() {
        for value in [
            "",
            "minibank.channel=mobile",
            "minibank.scenario",
            "xminibank.scenario=s1",
        ] {
            assert_eq!(scenario_of(&headers(&[value])), None, "{value}");
        }
        assert_eq!(scenario_of(&HeaderMap::new()), None);
    }
}
