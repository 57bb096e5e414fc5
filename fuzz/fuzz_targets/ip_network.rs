//! IP allowlist entries (`policy::IpNetwork` from text): never panics; a network that
//! reads writes back in a form that reads back equal, and contains its own address.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use mfa_kit::policy::IpNetwork;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(network) = text.parse::<IpNetwork>() else { return };
    let written = network.to_string();
    assert_eq!(written.parse::<IpNetwork>().as_ref(), Ok(&network), "{text:?} -> {written:?}");
    let (address, prefix) = written.split_once('/').expect("address/prefix");
    let address: IpAddr = address.parse().expect("an address");
    let prefix: u8 = prefix.parse().expect("a prefix");
    assert!(prefix <= if address.is_ipv4() { 32 } else { 128 });
    assert!(network.contains(address), "{written} does not contain its own address");
    let json = serde_json::to_string(&network).expect("serialises");
    assert_eq!(serde_json::from_str::<IpNetwork>(&json).ok(), Some(network));
    // The address the text names is inside the network it names; except an IPv6
    // network under /96 that reaches into the IPv4-mapped range, whose mapped
    // addresses are read as IPv4 clients (by design, see IpNetwork::contains).
    let (named, prefix) = text.trim().split_once('/').map_or((text.trim(), None), |(a, p)| (a, Some(p)));
    if let Ok(named) = named.parse::<IpAddr>() {
        let mapped_below_96 = matches!(named, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
            && prefix.is_some_and(|p| p.parse::<u8>().is_ok_and(|p| p < 96));
        if !mapped_below_96 {
            assert!(network.contains(named), "{text:?} does not contain {named}");
        }
    }
});
