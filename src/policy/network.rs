//! IP networks for an organisation's address allowlist (R14).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An IPv4 or IPv6 network in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`); a
/// bare address is a network of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpNetwork {
    address: IpAddr,
    prefix: u8,
}

/// A network could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error(
    "{0:?} is not an IP network: write an address or address/prefix, such as 203.0.113.0/24 or 2001:db8::/32"
)]
#[allow(clippy::exhaustive_structs, reason = "a marker or a one-field newtype: there is nothing to add")]
pub struct NetworkError(pub String);

impl IpNetwork {
    /// The network of `address` with `prefix` leading bits (host bits are cleared).
    ///
    /// # Errors
    /// [`NetworkError`] for a prefix longer than the address (32 or 128 bits).
    pub fn new(address: IpAddr, prefix: u8) -> Result<IpNetwork, NetworkError> {
        let bits = if address.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(NetworkError(format!("{address}/{prefix}")));
        }
        // An IPv4 network written as IPv6 (`::ffff:203.0.113.0/120`) is that IPv4
        // network, as `contains` reads such client addresses as IPv4.
        if let IpAddr::V6(v6) = address
            && let (Some(v4), true) = (v6.to_ipv4_mapped(), prefix >= 96)
        {
            return Ok(IpNetwork { address: mask(IpAddr::V4(v4), prefix - 96), prefix: prefix - 96 });
        }
        Ok(IpNetwork { address: mask(address, prefix), prefix })
    }

    /// Whether `address` is inside the network. An IPv4 address written as IPv6
    /// (`::ffff:203.0.113.7`) counts as the IPv4 address.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        address.is_ipv4() == self.address.is_ipv4() && mask(address, self.prefix) == self.address
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & keep).into())
        }
        IpAddr::V6(v6) => {
            let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & keep).into())
        }
    }
}

impl FromStr for IpNetwork {
    type Err = NetworkError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || NetworkError(text.to_string());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: IpAddr = address.parse().map_err(|_| invalid())?;
        let prefix = match prefix {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse().map_err(|_| invalid())?
            }
            Some(_) => return Err(invalid()),
            None if address.is_ipv4() => 32,
            None => 128,
        };
        IpNetwork::new(address, prefix).map_err(|_| invalid())
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl TryFrom<String> for IpNetwork {
    type Error = NetworkError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<IpNetwork> for String {
    fn from(network: IpNetwork) -> String {
        network.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv4_networks() {
        let office: IpNetwork = "203.0.113.0/24".parse().unwrap();
        assert!(office.contains(ip("203.0.113.7")));
        assert!(office.contains(ip("::ffff:203.0.113.7")));
        assert!(!office.contains(ip("203.0.114.7")));
        assert!(!office.contains(ip("2001:db8::1")));
        let host: IpNetwork = "198.51.100.23".parse().unwrap();
        assert!(host.contains(ip("198.51.100.23")) && !host.contains(ip("198.51.100.24")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")));
        assert_eq!("10.1.2.3/8".parse::<IpNetwork>().unwrap().to_string(), "10.0.0.0/8");
    }

    #[test]
    fn ipv6_networks() {
        let net: IpNetwork = "2001:db8::/32".parse().unwrap();
        assert!(net.contains(ip("2001:db8:1::5")));
        assert!(!net.contains(ip("2001:db9::5")));
        assert!(!net.contains(ip("203.0.113.7")));
        assert!("::/0".parse::<IpNetwork>().unwrap().contains(ip("2001:db8::1")));
    }

    #[test]
    fn ipv4_networks_written_as_ipv6_are_ipv4_networks() {
        // Found by the ip_network fuzz target: this entry contained no address at all.
        let host: IpNetwork = "::ffff:203.0.113.7".parse().unwrap();
        assert!(host.contains(ip("::ffff:203.0.113.7")) && host.contains(ip("203.0.113.7")));
        assert!(!host.contains(ip("203.0.113.8")));
        assert_eq!(host.to_string(), "203.0.113.7/32");
        let net: IpNetwork = "::ffff:203.0.113.0/120".parse().unwrap();
        assert!(net.contains(ip("203.0.113.200")) && !net.contains(ip("203.0.114.1")));
        assert_eq!(net, "203.0.113.0/24".parse().unwrap());
    }

    #[test]
    fn bad_networks_are_refused() {
        for text in [
            "",
            "203.0.113.0/33",
            "2001:db8::/129",
            "203.0.113/24",
            "office",
            "1.2.3.4/",
            "1.2.3.4/-1",
            "1.2.3.4/+8",
        ] {
            assert!(text.parse::<IpNetwork>().is_err(), "{text}");
        }
    }

    #[test]
    fn serialises_as_text() {
        let net: IpNetwork = "203.0.113.0/24".parse().unwrap();
        assert_eq!(serde_json::to_string(&net).unwrap(), "\"203.0.113.0/24\"");
        assert!(serde_json::from_str::<IpNetwork>("\"nope\"").is_err());
    }
}
