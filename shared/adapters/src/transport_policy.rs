//! Rules every outbound base URL follows, whatever the system behind it.
//!
//! Why: the Fusion and WMS clients send credentials (Basic, bearer tokens, API keys) and
//! inventory data; over plain `http://` to anything but this machine they would travel in
//! clear text. Loopback stays allowed for the simulators and local adapters.

use domain::DomainError;
use reqwest::Url;

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
