//! HTTP for the hub: redirects followed here (so each host gets its own proxy choice and the
//! token goes to the hub's host only, never to the storage a file redirects to), retries with
//! exponential backoff after dropped connections, timeouts, 429 and 5xx (as huggingface_hub's
//! `http_backoff`: 5 retries, 1 s doubling up to 8 s), and TLS that trusts the system's
//! certificate authorities as well as the bundled Mozilla roots.

use super::proxy::ProxySettings;
use super::Hub;
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Retries after the first try.
    pub max_retries: u32,
    /// Wait before the first retry; doubled before each next one.
    pub base_wait: Duration,
    /// Longest wait between two tries.
    pub max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_retries: 5,
            base_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(8),
        }
    }
}

/// Why a try failed: worth another try, or not.
pub(super) enum Failure {
    /// A dropped connection, a timeout, 429 or 5xx.
    Transient(String),
    /// 416: the range asked for does not fit the file; the partial download is dropped.
    Restart(String),
    /// Anything else (401, 404, a bad answer, a local file error).
    Fatal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Fatal(e)
    }
}

const MAX_REDIRECTS: usize = 10;

pub(super) struct Client {
    direct: ureq::Agent,
    http_proxy: Option<ureq::Agent>,
    https_proxy: Option<ureq::Agent>,
    proxies: ProxySettings,
    token: Option<String>,
    /// The hub's host: the only one that gets the token.
    hub_host: Option<String>,
    retry: Retry,
}

impl Client {
    pub(super) fn new(hub: &Hub) -> Result<Self> {
        let tls = Arc::new(tls_config());
        let agent = |proxy: Option<&str>| -> Result<ureq::Agent> {
            let mut b = ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(15))
                .timeout_read(hub.read_timeout)
                .redirects(0)
                .try_proxy_from_env(false)
                .tls_config(tls.clone());
            if let Some(p) = proxy {
                let proxy =
                    ureq::Proxy::new(p).map_err(|e| Error::Hub(format!("bad proxy {p:?}: {e}")))?;
                b = b.proxy(proxy);
            }
            Ok(b.build())
        };
        Ok(Self {
            direct: agent(None)?,
            http_proxy: hub
                .proxy
                .http
                .as_deref()
                .map(|p| agent(Some(p)))
                .transpose()?,
            https_proxy: hub
                .proxy
                .https
                .as_deref()
                .map(|p| agent(Some(p)))
                .transpose()?,
            proxies: hub.proxy.clone(),
            token: hub.token.clone(),
            hub_host: url::Url::parse(&hub.endpoint)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string)),
            retry: hub.retry,
        })
    }

    fn agent(&self, url: &url::Url) -> &ureq::Agent {
        let host = url.host_str().unwrap_or("");
        let port = url.port_or_known_default().unwrap_or(0);
        let proxied = match url.scheme() {
            "https" => self.https_proxy.as_ref(),
            _ => self.http_proxy.as_ref(),
        };
        match proxied {
            Some(agent) if !self.proxies.bypasses(host, port) => agent,
            _ => &self.direct,
        }
    }

    /// One GET (with `Range: bytes=from-` when `from > 0`), following redirects.
    pub(super) fn get(&self, url: &str, from: u64) -> Result<ureq::Response, Failure> {
        let mut url = url::Url::parse(url).map_err(|e| fatal(url, e))?;
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self
                .agent(&url)
                .get(url.as_str())
                // Byte offsets of a resumed download count the file's own bytes.
                .set("Accept-Encoding", "identity");
            if let (Some(t), true) = (&self.token, url.host_str() == self.hub_host.as_deref()) {
                req = req.set("Authorization", &format!("Bearer {t}"));
            }
            if from > 0 {
                req = req.set("Range", &format!("bytes={from}-"));
            }
            let response = match req.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(code, r)) => return Err(status_failure(&url, code, &r)),
                Err(ureq::Error::Transport(t)) => {
                    return Err(Failure::Transient(format!("{url}: {t}")))
                }
            };
            if !(300..400).contains(&response.status()) {
                return Ok(response);
            }
            let location = response
                .header("Location")
                .ok_or_else(|| fatal(url.as_str(), "redirect without a Location"))?;
            url = url.join(location).map_err(|e| fatal(url.as_str(), e))?;
        }
        Err(fatal(url.as_str(), "too many redirects"))
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent.
    pub(super) fn retrying<T>(&self, mut attempt: impl FnMut() -> Result<T, Failure>) -> Result<T> {
        let mut wait = self.retry.base_wait;
        let mut tries = 0;
        loop {
            match attempt() {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(why) | Failure::Restart(why))
                    if tries < self.retry.max_retries =>
                {
                    tries += 1;
                    tracing::warn!(
                        "{why}; retrying in {wait:?} (retry {tries}/{})",
                        self.retry.max_retries
                    );
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(self.retry.max_wait);
                }
                Err(Failure::Transient(why) | Failure::Restart(why)) => {
                    return Err(Error::Hub(format!("{why} (gave up after {tries} retries)")))
                }
            }
        }
    }

    /// A whole text answer (the API's JSON), with retries.
    pub(super) fn get_text(&self, url: &str) -> Result<String> {
        self.retrying(|| {
            self.get(url, 0)?
                .into_string()
                .map_err(|e| Failure::Transient(format!("{url}: {e}")))
        })
    }
}

fn fatal(url: &str, why: impl std::fmt::Display) -> Failure {
    Failure::Fatal(Error::Hub(format!("{url}: {why}")))
}

fn status_failure(url: &url::Url, code: u16, response: &ureq::Response) -> Failure {
    match code {
        429 | 500 | 502 | 503 | 504 => {
            Failure::Transient(format!("{url}: {code} {}", response.status_text()))
        }
        416 => Failure::Restart(format!("{url}: 416 range not satisfiable")),
        401 | 403 => fatal(
            url.as_str(),
            "access denied (set HF_TOKEN, or log in with `hf auth login`, for private or gated models)",
        ),
        404 => fatal(url.as_str(), "not found on the hub"),
        _ => fatal(url.as_str(), format!("{code} {}", response.status_text())),
    }
}

/// rustls with the system's certificate authorities (`SSL_CERT_FILE` / `SSL_CERT_DIR` when
/// set: what a company's TLS-inspecting proxy needs) added to the Mozilla roots ureq bundles.
fn tls_config() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(native.certs);
    tracing::debug!("TLS roots: bundled, and {added} from the system");
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth()
}
