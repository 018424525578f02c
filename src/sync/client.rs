//! The HTTP exchange of one batch (rustls, no OpenSSL on a Pi). Every
//! status comes back as a `Reply`, for `verdict` to judge; only a failure
//! to talk to the server at all is an error. The token goes into the
//! `Authorization` header and nowhere else.

use super::secret::Token;
use super::url::ServerUrl;
use super::verdict::Reply;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use ureq::Agent;

/// How much of an answer is read: a batch answer lists at most a few
/// thousand ids; an error page is cut.
const ANSWER_LIMIT: u64 = 4 * 1024 * 1024;

pub struct Client {
    agent: Agent,
    url: String,
    authorization: String,
    /// The token alone: taken out of anything the server says, which is
    /// shown, logged and stored (a server may echo what it was sent).
    token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    /// The whole exchange: send, wait, read the answer.
    pub request: Duration,
}

impl Client {
    pub fn new(
        server: &ServerUrl,
        token: &Token,
        authorities: Option<&Authorities>,
        timeouts: Timeouts,
    ) -> Self {
        let mut config = Agent::config_builder()
            .http_status_as_error(false)
            // A redirect is reported, not followed: the token goes only to
            // the configured server.
            .max_redirects(0)
            .timeout_connect(Some(timeouts.connect))
            .timeout_global(Some(timeouts.request))
            .user_agent(concat!("taproll/", env!("CARGO_PKG_VERSION")));
        if let Some(authorities) = authorities {
            let roots = ureq::tls::RootCerts::Specific(Arc::clone(&authorities.0));
            config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
        }
        if server.is_loopback() {
            // A proxy from the environment must not take this machine's traffic.
            config = config.proxy(None);
        }
        Self {
            agent: config.build().new_agent(),
            url: server.events(),
            authorization: token.bearer(),
            token: token.secret().to_string(),
        }
    }

    /// POSTs one batch (JSON); the reply whatever its status.
    pub fn post(&self, body: &[u8]) -> Result<Reply, String> {
        let mut response = self
            .agent
            .post(&self.url)
            .header("Authorization", &self.authorization)
            .content_type("application/json")
            .send(body)
            .map_err(describe)?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string)
        };
        let retry_after = header("retry-after");
        let location = header("location");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(ANSWER_LIMIT)
            .read_to_vec()
            .map_err(|e| format!("the answer was cut off ({})", describe(e)))?;
        let redact = |text: Option<String>| text.map(|text| text.replace(&self.token, "…"));
        Ok(Reply {
            status,
            retry_after: redact(retry_after),
            location: redact(location),
            body: redacted(body, self.token.as_bytes()),
        })
    }
}

/// `body` with every copy of `secret` replaced by `…`.
fn redacted(body: Vec<u8>, secret: &[u8]) -> Vec<u8> {
    if secret.is_empty() || !body.windows(secret.len()).any(|w| w == secret) {
        return body;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut rest = &body[..];
    while let Some(at) = rest.windows(secret.len()).position(|w| w == secret) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice("…".as_bytes());
        rest = &rest[at + secret.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Certificates of the authorities to trust, read from a PEM file.
#[derive(Clone)]
pub struct Authorities(pub Arc<Vec<ureq::tls::Certificate<'static>>>);

impl std::fmt::Debug for Authorities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Authorities({} certificate(s))", self.0.len())
    }
}

impl Authorities {
    pub fn read(file: &Path) -> Result<Self, String> {
        let shown = file.display();
        let pem =
            std::fs::read(file).map_err(|e| format!("cannot read the CA file {shown}: {e}"))?;
        let mut certificates = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item.map_err(|e| format!("the CA file {shown}: {e}"))? {
                ureq::tls::PemItem::Certificate(certificate) => certificates.push(certificate),
                _ => continue,
            }
        }
        if certificates.is_empty() {
            return Err(format!("the CA file {shown} holds no certificate (PEM)"));
        }
        Ok(Self(Arc::new(certificates)))
    }
}

/// A failure to talk to the server, in words an instructor can act on.
fn describe(error: ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(what) => format!("no answer in time ({what})"),
        ureq::Error::HostNotFound => "the server's name is not known (DNS)".to_string(),
        ureq::Error::ConnectionFailed => "cannot connect to the server".to_string(),
        ureq::Error::Io(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "the server refuses connections".to_string(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof => {
                "the server closed the connection".to_string()
            }
            // rustls reports TLS failures this way.
            std::io::ErrorKind::InvalidData if e.to_string().contains("certificate") => format!(
                "the server's certificate is not trusted ({e}); for a certificate of the institution's own CA, set sync.ca_file"
            ),
            std::io::ErrorKind::InvalidData => {
                format!("TLS failed (does the server speak https at this address?): {e}")
            }
            _ if e.to_string().contains("lookup address") => {
                "the server's name is not known (DNS)".to_string()
            }
            _ => format!("network error: {e}"),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn every_copy_of_the_token_is_taken_out() {
        let body = br#"{"error":"token s3cret is not s3cret-2"}"#.to_vec();
        assert_eq!(
            String::from_utf8(redacted(body, b"s3cret")).unwrap(),
            r#"{"error":"token … is not …-2"}"#
        );
        assert_eq!(redacted(b"nothing".to_vec(), b"s3cret"), b"nothing");
    }
}
