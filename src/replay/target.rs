//! The target: only the URL the user names, plain HTTP, and on this machine unless
//! `--allow-remote` says otherwise (load sent to someone else's service is an attack).

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// A checked target.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub uri: hyper::Uri,
    /// What the host resolved to.
    pub addrs: Vec<SocketAddr>,
}

/// Parses `url` and resolves its host; refuses what is not `http://`, and a host that is not a
/// loopback address unless `allow_remote`.
pub fn parse(url: &str, allow_remote: bool) -> Result<Target> {
    let parsed = url::Url::parse(url)
        .with_context(|| format!("--target {url}: not a URL; give one such as http://127.0.0.1:8080/predict"))?;
    if parsed.scheme() != "http" {
        bail!(
            "--target {url}: scheme `{}` is not supported; replay speaks plain HTTP/1.1 (http://)",
            parsed.scheme()
        );
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        bail!("--target {url}: credentials in the URL are not supported");
    }
    let host = parsed
        .host_str()
        .with_context(|| format!("--target {url}: the URL has no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .with_context(|| format!("--target {url}: cannot resolve host `{host}`"))?
        .collect();
    if addrs.is_empty() {
        bail!("--target {url}: host `{host}` resolves to no address");
    }
    if !allow_remote && let Some(a) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        bail!(
            "--target {url}: {host} ({}) is not a loopback address; replay drives only this machine's services unless --allow-remote is given",
            a.ip()
        );
    }
    let uri: hyper::Uri = parsed
        .as_str()
        .parse()
        .with_context(|| format!("--target {url}: not a valid request URI"))?;
    Ok(Target {
        url: url.to_string(),
        uri,
        addrs,
    })
}

impl Target {
    /// Opens one connection first, so an unreachable target fails at once with a clear error
    /// rather than as a run of failed requests.
    pub async fn reachable(&self) -> Result<()> {
        let mut last = None;
        for addr in &self.addrs {
            match tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => last = Some(e.to_string()),
                Err(_) => last = Some("no answer within 3 s".to_string()),
            }
        }
        bail!(
            "--target {}: cannot connect to {}: {}; is the service running? (`trafficsim serve-mock` starts one on 127.0.0.1:8080)",
            self.url,
            self.addrs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            last.unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_is_accepted_by_default() {
        assert!(parse("http://127.0.0.1:8080/predict", false).is_ok());
        assert!(parse("http://localhost:8080/predict", false).is_ok());
        assert!(parse("http://[::1]:8080/predict", false).is_ok());
        let remote = parse("http://192.0.2.1:8080/predict", false).unwrap_err().to_string();
        assert!(
            remote.contains("not a loopback address") && remote.contains("--allow-remote"),
            "{remote}"
        );
        assert!(parse("http://192.0.2.1:8080/predict", true).is_ok());
        let https = parse("https://127.0.0.1/predict", false).unwrap_err().to_string();
        assert!(https.contains("scheme `https`"), "{https}");
        let bad = parse("127.0.0.1:8080", false).unwrap_err().to_string();
        assert!(bad.contains("--target 127.0.0.1:8080"), "{bad}");
    }
}
