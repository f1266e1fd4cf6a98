//! Which proxy a request goes through: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http
//! ones (`ALL_PROXY` for both; lower-case names first, as curl and Python's `requests` read
//! them), unless `NO_PROXY` names the host. ureq reads proxy variables itself but ignores
//! `NO_PROXY` and the URL's scheme, so the choice is made here, per request.

use std::net::IpAddr;

/// Proxy settings, from the environment or set by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxySettings {
    /// Proxy for `http://` URLs (`http://host:port`, optionally with `user:password@`).
    pub http: Option<String>,
    /// Proxy for `https://` URLs (tunnelled with CONNECT).
    pub https: Option<String>,
    /// Hosts reached directly: names (a name also covers its subdomains; a leading `.` is
    /// allowed), IP addresses or CIDR ranges, each with an optional `:port`; `*` for all.
    pub no_proxy: Vec<String>,
}

impl ProxySettings {
    /// Reads `http_proxy` / `HTTP_PROXY`, `https_proxy` / `HTTPS_PROXY`, `all_proxy` /
    /// `ALL_PROXY` and `no_proxy` / `NO_PROXY` through `var`.
    pub fn from_vars(var: &dyn Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| names.iter().find_map(|n| var(n).filter(|v| !v.is_empty()));
        let all = first(&["all_proxy", "ALL_PROXY"]);
        Self {
            http: first(&["http_proxy", "HTTP_PROXY"]).or_else(|| all.clone()),
            https: first(&["https_proxy", "HTTPS_PROXY"]).or(all),
            no_proxy: first(&["no_proxy", "NO_PROXY"])
                .map(|v| {
                    v.split(',')
                        .map(|e| e.trim().to_ascii_lowercase())
                        .filter(|e| !e.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The proxy for a URL of `scheme` to `host:port`, or `None` to connect directly.
    pub fn for_url(&self, scheme: &str, host: &str, port: u16) -> Option<&str> {
        let proxy = match scheme {
            "https" => self.https.as_deref(),
            _ => self.http.as_deref(),
        }?;
        (!self.bypasses(host, port)).then_some(proxy)
    }

    /// Whether `NO_PROXY` sends `host:port` around the proxy.
    pub fn bypasses(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.no_proxy
            .iter()
            .any(|entry| matches(entry, &host, port))
    }
}

fn matches(entry: &str, host: &str, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    let (pattern, entry_port) = split_port(entry);
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return match pattern.split_once('/') {
            Some((net, bits)) => in_range(ip, net, bits),
            None => pattern.parse::<IpAddr>() == Ok(ip),
        };
    }
    let pattern = pattern.trim_start_matches('.');
    host == pattern
        || host
            .strip_suffix(pattern)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// `name:port`, `[v6]:port` or a bare name / address (an IPv6 address keeps its colons).
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            return (addr, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(p) => (name, Some(p)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_range(ip: IpAddr, net: &str, bits: &str) -> bool {
    let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) else {
        return false;
    };
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift == width || (ip >> shift) == (net >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(no_proxy: &str) -> ProxySettings {
        let vars = [
            ("HTTP_PROXY", "http://proxy:3128"),
            ("https_proxy", "http://secure-proxy:3128"),
            ("NO_PROXY", no_proxy),
        ];
        ProxySettings::from_vars(&|n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn scheme_picks_the_proxy() {
        let s = settings("");
        assert_eq!(s.for_url("http", "hub.test", 80), Some("http://proxy:3128"));
        assert_eq!(
            s.for_url("https", "hub.test", 443),
            Some("http://secure-proxy:3128")
        );
    }

    #[test]
    fn no_proxy_matches_names_suffixes_ports_and_ranges() {
        let s = settings("example.com, .internal,localhost:8080,10.0.0.0/8,::1,[fe80::1]:99");
        for (host, port) in [
            ("example.com", 443),
            ("hub.example.com", 443),
            ("a.b.internal", 80),
            ("internal", 80),
            ("localhost", 8080),
            ("10.1.2.3", 80),
            ("[::1]", 80),
            ("fe80::1", 99),
        ] {
            assert!(s.bypasses(host, port), "{host}:{port}");
        }
        for (host, port) in [
            ("notexample.com", 443),
            ("example.com.evil", 443),
            ("localhost", 80),
            ("11.0.0.1", 80),
            ("fe80::1", 98),
        ] {
            assert!(!s.bypasses(host, port), "{host}:{port}");
        }
        assert!(settings("*").bypasses("anything", 1));
    }
}
