//! SUNBURST (AA20-352A) detectors: the trojanized Orion business-layer DLL, SUPERNOVA,
//! TEARDROP, the `ReportWatcherRetry` setting, stage-2 infrastructure, and the DNS beacon
//! decoder ([`dga`]) for `*.appsync-api.*.avsvmcloud.com` queries.

pub mod dga;
