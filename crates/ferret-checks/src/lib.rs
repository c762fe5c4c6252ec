//! ferret's campaign checks: detectors for ProxyLogon, SUNBURST and the Pulse Secure backdoors.

pub mod sunburst;
