//! A caller's own deadline at the public door: `Prefer: wait=N` (RFC 7240, section 4.3), the
//! standard way for an HTTP client to say it wants an answer within N seconds. Edge honours it
//! by shortening the request's deadline (never lengthening it past its own upstream timeout),
//! so the deadline the caller chose is the one that travels to every hop; the answer then says
//! `Preference-Applied: wait=N`. Malformed or zero values are ignored, as RFC 7240 allows for
//! any preference a server does not understand.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header::HeaderName};

/// The `Preference-Applied` response header.
pub const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// The `wait` preference of `headers` in seconds, if there is a valid non-zero one. Several
/// `Prefer` headers and comma-separated preferences are allowed; the first `wait` wins.
pub fn requested_wait(headers: &HeaderMap) -> Option<u64> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|preference| {
            // A preference may carry parameters after `;`; `wait` takes none.
            let head = preference.split(';').next()?.trim();
            let (name, value) = head.split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("wait") {
                return None;
            }
            Some(value.trim().trim_matches('"').parse::<u64>().ok())
        })
        .flatten()
        .filter(|seconds| *seconds > 0)
}

/// How long edge waits for the upstream: its own limit, or the caller's shorter wish. Also
/// returns the `Preference-Applied` value when the wish shortened it.
pub fn effective_timeout(
    headers: &HeaderMap,
    upstream_timeout: Duration,
) -> (Duration, Option<HeaderValue>) {
    match requested_wait(headers) {
        Some(seconds) if Duration::from_secs(seconds) < upstream_timeout => (
            Duration::from_secs(seconds),
            HeaderValue::from_str(&format!("wait={seconds}")).ok(),
        ),
        _ => (upstream_timeout, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append("prefer", HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn reads_wait_among_other_preferences_and_headers() {
        assert_eq!(requested_wait(&headers(&["wait=3"])), Some(3));
        assert_eq!(
            requested_wait(&headers(&["respond-async, WAIT = 7"])),
            Some(7)
        );
        assert_eq!(
            requested_wait(&headers(&["return=minimal", "wait=\"2\""])),
            Some(2)
        );
        assert_eq!(
            requested_wait(&headers(&["handling=lenient; x=1", "wait=4;ignored"])),
            Some(4)
        );
    }

    #[test]
    fn ignores_what_is_not_a_usable_wait() {
        assert_eq!(requested_wait(&headers(&[])), None);
        assert_eq!(requested_wait(&headers(&["wait"])), None);
        assert_eq!(requested_wait(&headers(&["wait=soon"])), None);
        assert_eq!(requested_wait(&headers(&["wait=-1"])), None);
        assert_eq!(requested_wait(&headers(&["wait=0"])), None);
        assert_eq!(requested_wait(&headers(&["waiting=3"])), None);
    }

    #[test]
    fn only_ever_shortens_the_upstream_timeout() {
        let limit = Duration::from_secs(10);
        let (shorter, applied) = effective_timeout(&headers(&["wait=2"]), limit);
        assert_eq!(shorter, Duration::from_secs(2));
        assert_eq!(applied.unwrap(), "wait=2");
        let (same, applied) = effective_timeout(&headers(&["wait=60"]), limit);
        assert_eq!(same, limit);
        assert!(applied.is_none());
        assert_eq!(effective_timeout(&HeaderMap::new(), limit), (limit, None));
    }
}
