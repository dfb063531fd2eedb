//! [`WebhookUrl`]: an absolute `http` or `https` URL a merchant registered.

use std::fmt;

use reqwest::Url;

/// An absolute http(s) URL with a host and no embedded credentials. Built only by
/// [`WebhookUrl::parse`]; anything else is `invalid_url`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(Url);

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidUrl(String);

impl WebhookUrl {
    /// At most this many characters.
    pub const MAX_LEN: usize = 2048;

    /// Accepts an absolute `http://` or `https://` URL with a host.
    pub fn parse(raw: &str) -> Result<Self, InvalidUrl> {
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidUrl(format!(
                "url is longer than {} characters",
                Self::MAX_LEN
            )));
        }
        let url = Url::parse(raw)
            .map_err(|err| InvalidUrl(format!("`{raw}` is not an absolute URL: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(InvalidUrl(format!(
                "url must use http or https, not `{}`",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidUrl(format!("`{raw}` has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidUrl("url must not contain credentials".into()));
        }
        Ok(WebhookUrl(url))
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<&str> for WebhookUrl {
    type Error = InvalidUrl;
    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        WebhookUrl::parse(raw)
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_http_and_https_urls_are_accepted() {
        for good in [
            "http://127.0.0.1:9000/hook",
            "https://merchant.example/webhooks?x=1",
        ] {
            assert_eq!(WebhookUrl::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn relative_other_scheme_and_credential_urls_are_refused() {
        for bad in [
            "",
            "/hook",
            "merchant.example/hook",
            "ftp://merchant.example/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pw@merchant.example/",
            "http://",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse(&format!("https://a.example/{}", "x".repeat(2048))).is_err());
    }
}
