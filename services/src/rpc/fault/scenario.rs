//! Which scenario a call is made for. The harness names the scenario in the W3C `baggage` of
//! every request it sends (`minibank.scenario=<namespace>`); every hop passes baggage on, the
//! saga and the outbox included (they store the context with the work), so a call made for a
//! scenario, however far behind edge and however late, still names it. A fault rule scoped to
//! a scenario matches only those calls, and scenarios running side by side never meet it.

use http::HeaderMap;

/// The baggage member naming the scenario a request is made for.
pub const SCENARIO_BAGGAGE_KEY: &str = "minibank.scenario";

/// The scenario named in `headers`' `baggage` (every `baggage` header, members separated by
/// commas, properties after `;` ignored, the value percent-decoded), if any.
pub fn scenario_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("baggage")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|member| {
            let pair = member.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key.trim() == SCENARIO_BAGGAGE_KEY).then(|| percent_decoded(value.trim()))
        })
}

/// `%XX` sequences as bytes (W3C baggage values are percent-encoded); an invalid sequence is
/// kept as it is.
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
