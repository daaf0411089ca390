//! Rules every outbound base URL follows, whatever the system behind it.
//!
//! Why: the Fusion and WMS clients send credentials (Basic, bearer tokens, API keys) and
//! inventory data; over plain `http://` to anything but this machine they would travel in
//! clear text. Loopback stays allowed for the simulators and local adapters.

use domain::DomainError;
use reqwest::Url;

/// Why a response body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The body is larger than the configured maximum (by `Content-Length`, or while reading).
    TooLarge {
        /// The maximum, in bytes.
        max: usize,
    },
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

/// Reads a response body of at most `max` bytes. Why: a misbehaving Fusion pod or WMS
/// adapter (or something in between) must not make a function hold an unbounded answer in
/// memory; the caller turns [`BodyError::TooLarge`] into a clear error.
pub async fn read_body_limited(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge { max });
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge { max });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Refuses a URL that is not `https://`, unless its host is loopback (`localhost`,
/// `127.0.0.0/8`, `::1`). `name` is the setting the URL came from, for the error.
pub fn require_tls_unless_loopback(name: &'static str, url: &Url) -> Result<(), DomainError> {
    if url.scheme() == "https" || is_loopback(url) {
        return Ok(());
    }
    Err(DomainError::InvalidConfig {
        name,
        reason: format!(
            "must be an https:// URL (plain {}:// is allowed only for loopback hosts), got host {:?}",
            url.scheme(),
            url.host_str().unwrap_or("")
        ),
    })
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(s: &str) -> Result<(), DomainError> {
        require_tls_unless_loopback("X_URL", &Url::parse(s).unwrap())
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        assert!(check("https://pod.fa.ocs.oraclecloud.com").is_ok());
        assert!(check("http://127.0.0.1:8080").is_ok());
        assert!(check("http://127.9.9.9").is_ok());
        assert!(check("http://localhost:3000/wms").is_ok());
        assert!(check("http://[::1]:9000").is_ok());
        let e = check("http://wms.example.com").unwrap_err().to_string();
        assert!(e.contains("X_URL") && e.contains("https"), "{e}");
        assert!(check("http://10.0.0.5").is_err());
    }
}
