//! Source addresses for the sockets. One source IP has ~28 000 ephemeral ports towards one
//! server address (Linux' default 32768–60999), so holding 50 000 loopback sockets needs
//! several: every `127.x.y.z` is a local address on Linux, and binding a socket to
//! `127.0.0.2` before connecting gives it a fresh set of ports.

use std::net::{IpAddr, Ipv4Addr};

/// Parses `--source-ips`: comma-separated IPs and IPv4 ranges over the last octet
/// (`127.0.0.1-127.0.0.8`, or the short form `127.0.0.1-8`).
///
/// # Errors
/// A human message naming the bad item.
pub fn parse(list: &str) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        match item.split_once('-') {
            None => out.push(
                item.parse::<IpAddr>()
                    .map_err(|_| format!("--source-ips: {item:?} is not an IP address"))?,
            ),
            Some((first, last)) => {
                let first: Ipv4Addr = first
                    .parse()
                    .map_err(|_| format!("--source-ips: {first:?} is not an IPv4 address"))?;
                let [a, b, c, start] = first.octets();
                let end: u8 = match last.parse::<Ipv4Addr>() {
                    Ok(last) if last.octets()[..3] == [a, b, c] => last.octets()[3],
                    Ok(_) => {
                        return Err(format!(
                            "--source-ips: {item:?} must vary only the last octet"
                        ));
                    }
                    Err(_) => last
                        .parse()
                        .map_err(|_| format!("--source-ips: bad range end in {item:?}"))?,
                };
                if end < start {
                    return Err(format!("--source-ips: empty range {item:?}"));
                }
                out.extend((start..=end).map(|d| IpAddr::V4(Ipv4Addr::new(a, b, c, d))));
            }
        }
    }
    if out.is_empty() {
        return Err("--source-ips: no address given".to_owned());
    }
    Ok(out)
}

/// The source address of socket number `index`: round-robin over `sources` (none: the OS picks).
pub fn for_socket(sources: &[IpAddr], index: usize) -> Option<IpAddr> {
    if sources.is_empty() {
        None
    } else {
        sources.get(index % sources.len()).copied()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse("127.0.0.1").unwrap(), vec![ip("127.0.0.1")]);
        assert_eq!(
            parse("127.0.0.1-127.0.0.3, ::1").unwrap(),
            vec![ip("127.0.0.1"), ip("127.0.0.2"), ip("127.0.0.3"), ip("::1")]
        );
        assert_eq!(
            parse("127.0.0.9-10").unwrap(),
            vec![ip("127.0.0.9"), ip("127.0.0.10")]
        );
        assert_eq!(parse("127.0.0.255-255").unwrap().len(), 1);
        for bad in [
            "",
            ",",
            "x",
            "127.0.0.3-1",
            "127.0.0.1-127.0.1.2",
            "127.0.0.1-300",
            "::1-::2",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sockets_are_spread_round_robin() {
        let s = parse("127.0.0.1-2").unwrap();
        assert_eq!(for_socket(&s, 0), Some(ip("127.0.0.1")));
        assert_eq!(for_socket(&s, 1), Some(ip("127.0.0.2")));
        assert_eq!(for_socket(&s, 50_001), Some(ip("127.0.0.2")));
        assert_eq!(for_socket(&[], 3), None);
    }
}
