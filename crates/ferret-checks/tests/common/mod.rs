//! Shared helpers for the detector tests: run a check over a fixture tree and look at what
//! came out.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

use ferret_checks::{Campaign, CheckOptions, Outcome, check};
use ferret_core::{Collector, Finding, NullProgress, Problem, Verdict};

/// What a run produced.
pub struct Run {
    pub findings: Vec<Finding>,
    pub problems: Vec<Problem>,
    pub outcome: Outcome,
}

impl Run {
    /// The codes of the findings, sorted.
    pub fn codes(&self) -> Vec<String> {
        let mut v: Vec<String> = self.findings.iter().map(|f| f.rule.id.clone()).collect();
        v.sort();
        v
    }

    /// The findings of one detector.
    pub fn of(&self, code: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.rule.id == code).collect()
    }

    /// The verdict for a campaign.
    pub fn verdict(&self, c: Campaign) -> Option<Verdict> {
        self.outcome.verdicts.iter().find(|v| v.campaign == c.id()).map(|v| v.verdict)
    }
}

/// Runs `ferret check` over `root` for the given campaigns (empty: automatic).
pub fn run(root: &Path, campaigns: &[Campaign]) -> Run {
    run_with(root, CheckOptions { campaigns: campaigns.to_vec(), ..CheckOptions::default() })
}

/// Runs with options (the root is set here).
pub fn run_with(root: &Path, mut opts: CheckOptions) -> Run {
    opts.paths = vec![root.to_path_buf()];
    let sink = Collector::new();
    let outcome = check(&opts, &sink, &NullProgress).expect("check starts");
    let (findings, problems, _, _) = sink.into_parts();
    Run { findings, problems, outcome }
}

/// Exchange's install root inside a fixture tree.
pub const V15: &str = "Program Files/Microsoft/Exchange Server/V15";

/// The HttpProxy log header as Exchange 2016/2019 write it (shortened to the columns that
/// matter, in their published order).
pub const HTTPPROXY_HEADER: &str = "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: HttpProxy Logs\n#Date: 2021-03-02T00:00:00.000Z\n#Fields: DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,RoutingStatus\n";

/// The HttpProxy column names.
fn httpproxy_columns() -> Vec<&'static str> {
    HTTPPROXY_HEADER
        .lines()
        .last()
        .unwrap_or("")
        .trim_start_matches("#Fields: ")
        .split(',')
        .collect()
}

/// One HttpProxy line at `time`: defaults for an authenticated OWA GET, overridden by `set`
/// (`(column, value)` pairs).
pub fn httpproxy_line(time: &str, set: &[(&str, &str)]) -> String {
    let cols = httpproxy_columns();
    let mut v = vec![String::new(); cols.len()];
    let defaults = [
        ("DateTime", time),
        ("RequestId", "0b3a51c4-1d2e-4f60-9c1a-7e5d2b3c4a10"),
        ("MajorVersion", "15"),
        ("MinorVersion", "1"),
        ("Protocol", "Owa"),
        ("UrlHost", "mail.example.org"),
        ("UrlStem", "/owa/"),
        ("IsAuthenticated", "True"),
        ("AuthenticatedUser", "EXAMPLE\\alice"),
        ("AnchorMailbox", "SMTP:alice@example.org"),
        ("UserAgent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
        ("ClientIpAddress", "192.0.2.10"),
        ("ServerHostName", "EXCH01"),
        ("HttpStatus", "200"),
        ("BackEndStatus", "200"),
        ("Method", "GET"),
    ];
    for (name, val) in defaults.iter().chain(set) {
        let i = cols.iter().position(|c| c == name).expect("known column");
        v[i] = if val.contains(',') || val.contains('"') {
            format!("\"{}\"", val.replace('"', "\"\""))
        } else {
            (*val).to_owned()
        };
    }
    v.join(",")
}
