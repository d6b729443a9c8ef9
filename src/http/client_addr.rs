//! Who a request comes from: the TCP peer, or behind a trusted reverse proxy the address that
//! proxy saw, as one key per client for rate limits and connection caps.
//!
//! `X-Forwarded-For` is read only when the TCP peer is a trusted proxy (`PARLOR_TRUSTED_PROXIES`),
//! and then from the right: each proxy appends the address it saw, so the rightmost entry that is
//! not itself a trusted proxy is the first one no client could have written. Everything left of
//! it is whatever the client sent.
//!
//! An IPv6 client is keyed by its /64: a single host usually owns a whole /64 and could
//! otherwise rotate through it to get a fresh budget per request.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// A client's rate-limit key: an IPv4 address, or the /64 network of an IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    /// The key of one address: IPv4-mapped IPv6 becomes IPv4, other IPv6 its /64.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => ClientAddr(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientAddr(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    ClientAddr(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }

    /// The client of a request that came from `peer` with these headers.
    pub fn resolve(peer: SocketAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> Self {
        ClientAddr::of(forwarded_client(peer.ip(), headers, trusted))
    }
}

/// `1.2.3.4`, or `2001:db8:1:2::/64`.
impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The networks whose `X-Forwarded-For` is believed (`PARLOR_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // A proxy on an IPv4 socket of a dual-stack listener shows up as IPv4-mapped IPv6.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Comma-separated CIDRs (`10.0.0.0/8, fd00::/8`); a bare address means just that address.
impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(|part| {
                IpNet::from_str(part)
                    .or_else(|_| IpAddr::from_str(part).map(IpNet::from))
                    .map_err(|_| format!("not a CIDR or an IP address: {part:?}"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            net.fmt(f)?;
        }
        Ok(())
    }
}

/// The peer, or when the peer is a trusted proxy, the rightmost forwarded address that is not.
fn forwarded_client(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    // Several headers count as one list, in order (RFC 9110, 5.3).
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if trusted.contains(ip) => client = ip,
            Some(ip) => return ip,
            // Garbage where a trusted proxy should have written an address: stop at the last
            // address a trusted party vouched for rather than read on into client-written text.
            None => return client,
        }
    }
    client
}

/// `1.2.3.4`, `2001:db8::1`, or either with a port (`1.2.3.4:5678`, `[2001:db8::1]:5678`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    IpAddr::from_str(hop)
        .ok()
        .or_else(|| SocketAddr::from_str(hop).ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 40000)
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn proxies(s: &str) -> TrustedProxies {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let h = xff(&["203.0.113.9"]);
        let got = ClientAddr::resolve(peer("198.51.100.1"), &h, &TrustedProxies::default());
        assert_eq!(got.to_string(), "198.51.100.1");
    }

    #[test]
    fn an_untrusted_peer_cannot_forge_its_address() {
        let h = xff(&["203.0.113.9"]);
        let got = ClientAddr::resolve(peer("198.51.100.1"), &h, &proxies("10.0.0.0/8"));
        assert_eq!(got.to_string(), "198.51.100.1");
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        let h = xff(&["203.0.113.9"]);
        let got = ClientAddr::resolve(peer("10.1.2.3"), &h, &proxies("10.0.0.0/8"));
        assert_eq!(got.to_string(), "203.0.113.9");
    }

    #[test]
    fn the_rightmost_untrusted_hop_wins_over_what_the_client_wrote() {
        // The client sent "1.1.1.1" itself; the edge proxy appended the real peer.
        let h = xff(&["1.1.1.1, 203.0.113.9, 10.0.0.7"]);
        let got = ClientAddr::resolve(peer("10.1.2.3"), &h, &proxies("10.0.0.0/8"));
        assert_eq!(got.to_string(), "203.0.113.9");
        // The same across several header lines.
        let h = xff(&["1.1.1.1", "203.0.113.9", "10.0.0.7"]);
        let got = ClientAddr::resolve(peer("10.1.2.3"), &h, &proxies("10.0.0.0/8"));
        assert_eq!(got.to_string(), "203.0.113.9");
    }

    #[test]
    fn only_proxies_or_garbage_fall_back_to_the_last_trusted_address() {
        let trusted = proxies("10.0.0.0/8");
        let got = ClientAddr::resolve(peer("10.1.2.3"), &xff(&["10.0.0.7"]), &trusted);
        assert_eq!(got.to_string(), "10.0.0.7");
        let got = ClientAddr::resolve(peer("10.1.2.3"), &xff(&["1.1.1.1, nonsense"]), &trusted);
        assert_eq!(got.to_string(), "10.1.2.3");
        let got = ClientAddr::resolve(peer("10.1.2.3"), &HeaderMap::new(), &trusted);
        assert_eq!(got.to_string(), "10.1.2.3");
    }

    #[test]
    fn hops_with_ports_are_understood() {
        let trusted = proxies("10.0.0.0/8");
        let got = ClientAddr::resolve(peer("10.1.2.3"), &xff(&["203.0.113.9:5555"]), &trusted);
        assert_eq!(got.to_string(), "203.0.113.9");
        let got = ClientAddr::resolve(
            peer("10.1.2.3"),
            &xff(&["[2001:db8:1:2:3:4:5:6]:5555"]),
            &trusted,
        );
        assert_eq!(got.to_string(), "2001:db8:1:2::/64");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a = ClientAddr::of("2001:db8:aa:bb:1:2:3:4".parse().unwrap());
        let b = ClientAddr::of("2001:db8:aa:bb:ffff::9".parse().unwrap());
        let c = ClientAddr::of("2001:db8:aa:bc::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "2001:db8:aa:bb::/64");
        let mapped = ClientAddr::of("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(mapped.to_string(), "192.0.2.1");
    }

    #[test]
    fn trusted_proxies_parse_cidrs_and_bare_addresses() {
        let t = proxies(" 10.0.0.0/8, 192.0.2.1 ,fd00::/8");
        assert!(t.contains("10.9.9.9".parse().unwrap()));
        assert!(t.contains("192.0.2.1".parse().unwrap()));
        assert!(!t.contains("192.0.2.2".parse().unwrap()));
        assert!(t.contains("fd12::1".parse().unwrap()));
        assert!(t.contains("::ffff:10.1.1.1".parse().unwrap()));
        assert!(proxies("").is_empty());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
        assert!("example.com".parse::<TrustedProxies>().is_err());
        assert_eq!(t.to_string(), "10.0.0.0/8,192.0.2.1/32,fd00::/8");
    }
}
