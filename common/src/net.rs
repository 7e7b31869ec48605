// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
//! What the socket tools share: addresses as records carry them (a family and 16 bytes) and
//! the comma-separated port lists of their filters (`-P 80,443`, tcplife's `-L`/`-D`), which
//! the BPF side matches (`ferro_port_listed` in bpf/sock.bpf.h).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `AF_INET` (include/linux/socket.h); any other family in a record is read as `AF_INET6`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// The longest port list a filter takes: `FERRO_MAX_PORTS` of bpf/sock.bpf.h (read from it when
/// this crate is compiled), the length of the tools' rodata port arrays.
pub const MAX_PORTS: usize =
    crate::decode::c_define(include_str!("../../bpf/sock.bpf.h"), "FERRO_MAX_PORTS");

/// The address in a record's 16 bytes: the first 4 for `AF_INET`, all 16 otherwise.
pub fn ip_addr(family: u16, bytes: &[u8; 16]) -> IpAddr {
    if family == AF_INET {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(*bytes))
    }
}

/// The 16 bytes a record holds `ip` in, as [`ip_addr`] reads them: an IPv4 address in the
/// first 4, the rest zero. For building records in tests.
pub fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut bytes = [0; 16];
    match ip {
        IpAddr::V4(a) => bytes[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => bytes = a.octets(),
    }
    bytes
}

/// 4 or 6, the IP column of BCC's tools.
pub fn ip_version(family: u16) -> u8 {
    if family == AF_INET { 4 } else { 6 }
}

/// The `AF_*` value of `-4`/`-6` for a BPF family filter, 0 (every family) for neither.
pub fn family_filter(ipv4: bool, ipv6: bool) -> u16 {
    match (ipv4, ipv6) {
        (true, _) => AF_INET,
        (_, true) => AF_INET6,
        _ => 0,
    }
}

/// A port list; a newtype, so that clap takes the list as one value rather than many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports(pub Vec<u16>);

impl Ports {
    /// Copy the list into a tool's rodata: `ports` (its array) and the count it returns.
    pub fn fill(&self, ports: &mut [u16]) -> i32 {
        let n = self.0.len().min(ports.len());
        ports[..n].copy_from_slice(&self.0[..n]);
        n as i32
    }
}

/// Parse a comma-separated list of ports (1-65535), at most [`MAX_PORTS`] of them: clap's
/// `value_parser` for `-P`, `-L`, `-D`. The error names the bad entry.
pub fn ports(s: &str) -> Result<Ports, String> {
    let ports = s
        .split(',')
        .map(|p| match p.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!(
                "invalid port '{}' (1-65535)",
                crate::error::shown(p.as_bytes())
            )),
            Ok(n) => Ok(n),
        })
        .collect::<Result<Vec<u16>, String>>()?;
    if ports.len() > MAX_PORTS {
        return Err(format!("at most {MAX_PORTS} ports"));
    }
    Ok(Ports(ports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addr_bytes_is_read_back_by_ip_addr() {
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
        let b = addr_bytes(v4);
        assert_eq!(b[..4], [10, 1, 2, 3]);
        assert!(b[4..].iter().all(|&x| x == 0));
        assert_eq!(ip_addr(AF_INET, &b), v4);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(ip_addr(AF_INET6, &addr_bytes(v6)), v6);
    }

    #[test]
    fn port_lists() {
        assert_eq!(ports("80,443"), Ok(Ports(vec![80, 443])));
        assert_eq!(ports(" 22"), Ok(Ports(vec![22])));
        for bad in ["0", "80,x", "65536", "", "80,", "-1"] {
            assert!(ports(bad).is_err(), "{bad}");
        }
        let many = (1..=65)
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(ports(&many), Err("at most 64 ports".into()));
        let mut slots = [0u16; MAX_PORTS];
        assert_eq!(Ports(vec![1, 2]).fill(&mut slots), 2);
        assert_eq!(slots[..3], [1, 2, 0]);
    }

    #[test]
    fn addresses() {
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(ip_addr(AF_INET, &b).to_string(), "127.0.0.1");
        assert_eq!(
            ip_addr(AF_INET6, &Ipv6Addr::LOCALHOST.octets()).to_string(),
            "::1"
        );
        assert_eq!((ip_version(AF_INET), ip_version(AF_INET6)), (4, 6));
        assert_eq!(family_filter(false, false), 0);
        assert_eq!(family_filter(true, false), AF_INET);
        assert_eq!(family_filter(false, true), AF_INET6);
    }
}
