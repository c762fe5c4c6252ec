//! SUNBURST (the trojanized SolarWinds Orion business layer): detectors and the DNS beacon decoder.

pub mod dga;
