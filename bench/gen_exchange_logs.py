#!/usr/bin/env python3
"""Generates a mixed Exchange/IIS log tree for `bench/check.sh`.

Writes, under OUT, an Exchange server's logs: HttpProxy (OWA, ECP, Autodiscover, MAPI), ECP
server, OABGenerator, and IIS W3C logs, about SIZE_MB MiB in all, in files of about 64 MiB.
Benign traffic is varied by a seeded generator; a few exploitation lines of each published
kind are planted at fixed places. The numbers planted are printed as JSON on stdout so the
benchmark can check that `ferret check` found every one.

Usage: gen_exchange_logs.py OUT [SIZE_MB] [SEED]
"""

import json
import os
import random
import sys

V15 = "Program Files/Microsoft/Exchange Server/V15"
FILE_BYTES = 64 * 1024 * 1024

HP_FIELDS = (
    "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,RevisionVersion,ClientRequestId,"
    "Protocol,UrlHost,UrlStem,ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,"
    "Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,HttpStatus,BackEndStatus,"
    "ErrorCode,Method,ProxyAction,TargetServer,TargetServerVersion,RoutingType,RoutingHint,"
    "BackEndCookie,ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,"
    "TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,"
    "CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,AccountForestLatencyBreakup,"
    "TotalAccountForestLatency,ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,"
    "SharedCacheLatencyBreakup,TotalSharedCacheLatency,ActivityContextLifeTime,"
    "ModuleToHandlerSwitchingLatency,ClientReqStreamLatency,BackendReqInitLatency,"
    "BackendReqStreamLatency,BackendProcessingLatency,BackendRespInitLatency,"
    "BackendRespStreamLatency,ClientRespStreamLatency,KerberosAuthHeaderLatency,"
    "HandlerCompletionLatency,RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,"
    "CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,RouteRefresherLatency,UrlQuery,"
    "BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,DatabaseGuid,UserADObjectGuid,"
    "PartitionEndpointLookupLatency,RoutingStatus"
).split(",")
HP_HEADER = (
    "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: HttpProxy Logs\n"
    "#Date: 2021-02-01T00:00:00.000Z\n#Fields: " + ",".join(HP_FIELDS) + "\n"
)
ECP_HEADER = (
    "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: ECP Server Log\n"
    "#Fields: DateTime,ServerName,EventID,EventData\n"
)
OAB_HEADER = (
    "#Software: Microsoft Exchange Server\n#Version: 15.01.2176.002\n#Log-type: OABGenerator Log\n"
    "#Fields: DateTime,ThreadId,Level,Message\n"
)
IIS_HEADER = (
    "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n"
    "#Date: 2021-02-01 00:00:00\n#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query "
    "s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status "
    "time-taken\n"
)
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.150 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13628; Pro)",
    "Apple-iPhone12C1/1802.67",
    "MSRPC",
]
USERS = ["EXAMPLE\\alice", "EXAMPLE\\bob", "EXAMPLE\\carol", "EXAMPLE\\dave", "EXAMPLE\\erin"]
STEMS = {
    "Owa": ["/owa/", "/owa/service.svc", "/owa/sessiondata.ashx", "/owa/auth.owa"],
    "Ecp": ["/ecp/", "/ecp/DDI/DDIService.svc/GetList", "/ecp/PersonalSettings/HomePage.aspx"],
    "Autodiscover": ["/autodiscover/autodiscover.xml"],
    "Mapi": ["/mapi/emsmdb/", "/mapi/nspi/"],
}
IDX = {n: i for i, n in enumerate(HP_FIELDS)}


def ts(sec):
    d, s = divmod(sec, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (1 + d % 28, h, m, s)


def hp_line(rng, sec, proto, **over):
    day, h, m, s = ts(sec)
    v = [""] * len(HP_FIELDS)
    user = rng.choice(USERS)
    vals = {
        "DateTime": "2021-02-%02dT%02d:%02d:%02d.%03dZ" % (day, h, m, s, rng.randrange(1000)),
        "RequestId": "%08x-%04x-4%03x-9%03x-%012x" % tuple(rng.getrandbits(b) for b in (32, 16, 12, 12, 48)),
        "MajorVersion": "15", "MinorVersion": "1", "BuildVersion": "2176", "RevisionVersion": "2",
        "Protocol": proto, "UrlHost": "mail.example.org", "UrlStem": rng.choice(STEMS[proto]),
        "AuthenticationType": "Negotiate", "IsAuthenticated": "True", "AuthenticatedUser": user,
        "AnchorMailbox": "Sid~S-1-5-21-%d-%d-%d-%d" % (rng.getrandbits(31), rng.getrandbits(31), rng.getrandbits(31), 1000 + rng.randrange(5000)),
        "UserAgent": '"%s"' % rng.choice(AGENTS), "ClientIpAddress": "10.1.%d.%d" % (rng.randrange(256), rng.randrange(256)),
        "ServerHostName": "EXCH01", "HttpStatus": "200", "BackEndStatus": "200", "Method": rng.choice(["GET", "POST"]),
        "ProxyAction": "Proxy", "TargetServer": "exch01.example.org", "TargetServerVersion": "Version 15.1 (Build 2176.2)",
        "RoutingType": "DatabaseGuid-ServerVersion", "RoutingHint": "DatabaseGuid-ServerVersion",
        "RequestBytes": str(rng.randrange(100, 5000)), "ResponseBytes": str(rng.randrange(100, 50000)),
        "HttpPipelineLatency": str(rng.randrange(50)), "TotalRequestTime": str(rng.randrange(500)),
        "GenericInfo": "ActivityContextLifeTime=%d;" % rng.randrange(400),
    }
    vals.update(over)
    for k, x in vals.items():
        v[IDX[k]] = x
    return ",".join(v) + "\n"


def iis_line(rng, sec, **over):
    day, h, m, s = ts(sec)
    stem = rng.choice(["/owa/", "/owa/service.svc", "/ecp/", "/mapi/emsmdb/", "/EWS/Exchange.asmx",
                       "/Microsoft-Server-ActiveSync/default.eas", "/owa/auth/Current/themes/resources/logon.css"])
    f = {
        "date": "2021-02-%02d" % day, "time": "%02d:%02d:%02d" % (h, m, s), "sip": "10.0.0.2",
        "method": "GET" if stem.endswith(".css") else rng.choice(["GET", "POST"]), "stem": stem,
        "query": "&CorrelationID=<empty>;&cafeReqId=%08x;" % rng.getrandbits(32), "port": "443",
        "user": rng.choice(USERS).replace("\\", "%5C"), "cip": "10.1.%d.%d" % (rng.randrange(256), rng.randrange(256)),
        "ua": rng.choice(AGENTS).replace(" ", "+"), "ref": "-", "status": "200", "sub": "0", "win": "0",
        "taken": str(rng.randrange(1, 900)),
    }
    f.update(over)
    return " ".join(f[k] for k in ("date", "time", "sip", "method", "stem", "query", "port", "user",
                                   "cip", "ua", "ref", "status", "sub", "win", "taken")) + "\n"


class Writer:
    """Writes a family of log files of about FILE_BYTES each."""

    def __init__(self, folder, prefix, header):
        self.folder, self.prefix, self.header = folder, prefix, header
        os.makedirs(folder, exist_ok=True)
        self.n, self.f, self.size, self.total = 0, None, 0, 0

    def write(self, chunk):
        if self.f is None or self.size >= FILE_BYTES:
            if self.f:
                self.f.close()
            self.n += 1
            self.f = open(os.path.join(self.folder, "%s%03d.log" % (self.prefix, self.n)), "w", newline="\n")
            self.f.write(self.header)
            self.size = len(self.header)
        self.f.write(chunk)
        self.size += len(chunk)
        self.total += len(chunk)

    def close(self):
        if self.f:
            self.f.close()


def main():
    out = sys.argv[1]
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    target = size * 1024 * 1024
    logs = os.path.join(out, V15, "Logging")
    w = {
        "hp": Writer(os.path.join(logs, "HttpProxy", "Owa"), "HttpProxy_2021020100-", HP_HEADER),
        "ecp": Writer(os.path.join(logs, "ECP", "Server"), "ECPServer_2021020100-", ECP_HEADER),
        "oab": Writer(os.path.join(logs, "OABGeneratorLog"), "OABGenerator_2021020100-", OAB_HEADER),
        "iis": Writer(os.path.join(out, "inetpub", "logs", "LogFiles", "W3SVC1"), "u_ex21020100-", IIS_HEADER),
    }
    planted = {"PL001": 0, "PL003": 0, "PL004": 0, "PL005": 0}
    sec, block = 0, 0
    protos = list(STEMS)
    # Pre-render pools of benign lines, then shuffle them into blocks: generation stays cheap.
    hp_pool = [hp_line(rng, i * 7, rng.choice(protos)) for i in range(4000)]
    iis_pool = [iis_line(rng, i * 5) for i in range(4000)]
    ecp_pool = ["2021-02-01T%02d:%02d:00.000Z,EXCH01,ECP.Request,\"S:TIME=%d;S:SID=%08x;S:USER=%s;S:CMD=Get-Mailbox.Identity='%s'\"\n"
                % (i % 24, i % 60, rng.randrange(300), rng.getrandbits(32), rng.choice(USERS), rng.choice(USERS)) for i in range(500)]
    oab_pool = ["2021-02-01T%02d:%02d:00.000Z,%d,Info,OAB generation progress %d%% for \\Default Offline Address Book\n"
                % (i % 24, i % 60, rng.randrange(100), i % 100) for i in range(200)]
    while sum(x.total for x in w.values()) < target:
        block += 1
        sec += 60
        w["hp"].write("".join(rng.choice(hp_pool) for _ in range(900)))
        w["iis"].write("".join(rng.choice(iis_pool) for _ in range(1500)))
        w["ecp"].write("".join(rng.choice(ecp_pool) for _ in range(60)))
        w["oab"].write("".join(rng.choice(oab_pool) for _ in range(20)))
        if block % 50 == 1:
            w["hp"].write(hp_line(rng, sec, "Ecp", UrlStem="/ecp/y.js", AuthenticatedUser="", IsAuthenticated="False",
                                  AnchorMailbox="ServerInfo~a]@exch01.example.org:444/mapi/emsmdb/?#",
                                  UserAgent="python-requests/2.25.1", Method="POST"))
            planted["PL001"] += 1
            w["iis"].write(iis_line(rng, sec, method="POST", stem="/owa/auth/Current/themes/resources/owafont_ja.css",
                                    user="-", ua="ExchangeServicesClient/0.0.0.0", cip="198.51.100.23"))
            planted["PL005"] += 1
            w["ecp"].write("2021-02-03T03:10:00.000Z,EXCH01,ECP.Request,\"S:CMD=Set-OabVirtualDirectory.ExternalUrl='http://f/<scr"
                           "ipt language=\"\"JScript\"\" runat=\"\"server\"\">function Page_Load(){}</script>'.Identity='x'\"\n")
            planted["PL004"] += 1
            w["oab"].write("2021-02-03T03:11:00.000Z,14,Warning,\"Download failed and temporary file "
                           "'C:\\inetpub\\wwwroot\\aspnet_client\\discover.aspx' needs to be removed.\"\n")
            planted["PL003"] += 1
    for x in w.values():
        x.close()
    json.dump({"bytes": sum(x.total for x in w.values()), "planted": planted}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
