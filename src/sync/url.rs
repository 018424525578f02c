//! The server's address, checked before anything is sent: HTTPS, except to
//! this machine (a test server, or a proxy on the Pi itself), and nothing
//! in it that would leak (a password in the URL ends up in logs).

use std::net::IpAddr;

/// A checked base URL, without a trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    base: String,
    loopback: bool,
}

impl ServerUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("is not a URL; write it as https://host/path")?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not hold a user name or password; the token goes in TAPROLL_SYNC_TOKEN or sync.token_file".into());
        }
        if rest.contains(['?', '#']) {
            return Err("must not have a query (?) or fragment (#)".into());
        }
        let host = host_of(authority).ok_or("names no host")?;
        let loopback = is_loopback(host);
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!(
                    "must use https:// (attendance and the device token would cross the network in clear); http:// is only for this machine ({host} is not)"
                ));
            }
            other => return Err(format!("`{other}://` is not supported; use https://")),
        }
        Ok(Self {
            base: text.trim_end_matches('/').to_string(),
            loopback,
        })
    }

    /// Where batches go.
    pub fn events(&self) -> String {
        format!("{}{}", self.base, taproll_wire::protocol::EVENTS_PATH)
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The server runs on this machine: no proxy, http allowed.
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

/// The host of `host`, `host:port`, `[v6]` or `[v6]:port`.
fn host_of(authority: &str) -> Option<&str> {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    };
    (!host.is_empty()).then_some(host)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_this_machine() {
        for ok in [
            "https://attendance.example.edu",
            "https://attendance.example.edu:8443/taproll/",
            "http://127.0.0.1:8080",
            "http://localhost:9000/",
            "http://[::1]:8080",
            "http://127.3.4.5",
        ] {
            assert!(ServerUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://attendance.example.edu",
            "http://10.0.0.5:8080",
            "http://[fe80::1]",
            "ftp://example.edu",
            "attendance.example.edu",
            "https://user:secret@example.edu",
            "https://example.edu/?token=x",
            "https://",
        ] {
            assert!(ServerUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn batches_go_to_v1_events_under_the_base() {
        let url = ServerUrl::parse("https://example.edu/taproll/").unwrap();
        assert_eq!(url.events(), "https://example.edu/taproll/v1/events");
        assert!(!url.is_loopback());
    }
}
