//! SUNBURST (AA20-352A) detectors: the trojanized Orion business-layer DLL, SUPERNOVA,
//! TEARDROP, the `ReportWatcherRetry` setting, and the DNS DGA decoder for
//! `*.appsync-api.*.avsvmcloud.com` queries.
