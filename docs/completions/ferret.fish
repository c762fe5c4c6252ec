# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ferret_global_optspecs
    string join \n V/version verbose h/help
end

function __fish_ferret_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ferret_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ferret_using_subcommand
    set -l cmd (__fish_ferret_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ferret -n "__fish_ferret_needs_command" -s V -l version -d 'Print version (with --verbose: the executable\'s SHA-256 and the built-in rule set\'s)'
complete -c ferret -n "__fish_ferret_needs_command" -l verbose -d 'With --version: print build identity and hashes'
complete -c ferret -n "__fish_ferret_needs_command" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "check" -d 'Answer per campaign (ProxyLogon, SUNBURST, Pulse and Ivanti Connect Secure, ProxyShell): AFFECTED, NOT FOUND or UNKNOWN'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "hunt" -d 'Hunt logs (EVTX, JSON, syslog, W3C/IIS, Exchange, access, DNS) with Sigma rules'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "serve" -d 'Run the fleet collector and its dashboard'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "enroll" -d 'Enrol this host with a collector'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "report" -d 'Send reports to the collector (spooled ones, or a JSONL file)'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "agent" -d 'Run the directives the collector has for this host'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "admin" -d 'Administer a collector: organisations, secrets, users, hosts, signed directives'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "scan" -d 'Sweep files for known-bad hashes, names and YARA rules'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "rules" -d 'Manage rule sets (compile a bundle)'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "keygen" -d 'Create an Ed25519 key pair (minisign format) for signing manifests'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "baseline" -d 'Record a tree in a (signed) manifest'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "verify" -d 'Check a tree against a signed manifest, or packages against dpkg\'s checksums'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "diff" -d 'Show what changed between two manifests'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "intel" -d 'Campaign intel: show what is loaded, pack and sign intel tables, pull a TAXII 2.1 collection'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "config" -d 'Show the configuration file settings in effect and where each came from'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish)'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "man" -d 'Write the manual pages (ferret.1 and one per verb) into a folder'
complete -c ferret -n "__fish_ferret_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand check" -l campaign -d 'A campaign to answer for: proxylogon, sunburst, pulse-secure, ivanti-connect-secure, proxyshell (repeatable). Without it, every campaign whose inputs are found under PATH' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -l manifest -d 'An integrity manifest (made by `ferret baseline`) of the product\'s tree: web files it does not list are reported as new' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l vendor-key -d 'The vendor\'s public key (PEM) that signs the Pulse Connect Secure manifest. Never the key found on the image' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l vendor-manifest -d 'The vendor\'s genuine manifest for the Pulse Connect Secure release (`<path> <sha256>` lines), brought from outside the box: it vouches for the appliance\'s files instead of the on-box manifest, and on-box entries it does not hold were never shipped. A signature beside it (`FILE.1` or `FILE.sig`) must verify with --vendor-key' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l match-host -d 'A host whose SUNBURST user id to look for in decoded DNS queries: `mac=…,domain=…,guid=…` or `MAC,DOMAIN,MACHINEGUID` (repeatable)' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -s j -l threads -d 'Worker threads (0: one per CPU; a request is bounded at four per CPU, and the summary says when it was lowered)' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -l exclude -d 'Skip entries matching GLOB (repeatable): a pattern without `/` matches a name, one with `/` the path (for baseline and verify, the path relative to the root)' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -l max-file-size -d 'Files larger than SIZE are skipped, counted and reported, never read (K, M, G, T suffixes; `none`: no limit). Default: scan 512M; hunt and check none (logs are streamed). A file check leaves unread makes its run incomplete' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -l min-score -l min-severity -d 'Report only findings scored at least N (0–100), or at least a severity: info, low (40), medium (60), high (75), critical (90). `--min-severity` and `--min-level` are the same option' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -s r -l rules -d 'IOC files or folders (STIX 2.1, MISP event exports and feeds, OpenIOC, plain lists of domains, IP addresses and URLs) whose network indicators are looked for in the logs read; each hit is a finding naming the indicator\'s origin (repeatable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l intel -d 'A signed intel pack (made by `ferret intel pack`) to use instead of the built-in intel. It must verify with --intel-key, or with `intel.pub` in ferret\'s configuration folder' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l intel-key -d 'The public key (minisign) that signs intel packs' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l format -d 'Report format' -r -f -a "text\t'Human-readable, grouped per file, control characters escaped'
jsonl\t'One JSON record per line (see docs/report-format.md)'
csv\t'One row per finding, then per problem'
html\t'One self-contained HTML page (inline CSS and SVG; no script, no network)'
timesketch\t'Timesketch JSONL (message, datetime, timestamp_desc and the fields flattened)'
ecs\t'Elastic Common Schema 8 NDJSON, one document per line'
ocsf\t'OCSF JSON lines: Detection Finding (2004) per finding, Scan Activity for the run'
cef\t'ArcSight CEF, one record per line'"
complete -c ferret -n "__fish_ferret_using_subcommand check" -s o -l output -d 'Write the report to FILE instead of stdout' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand check" -l report-to -d 'Also send the report to a ferret collector (after `ferret enroll`). An unreachable collector gets it later: the report is spooled and sent by the next run or `ferret report send`' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -l syslog -d 'Also send every finding, problem and the run summary to a syslog receiver, one RFC 5424 message each with a CEF record: udp://HOST:PORT or tcp://HOST:PORT' -r
complete -c ferret -n "__fish_ferret_using_subcommand check" -l low-priority -d 'Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host\'s own work goes first'
complete -c ferret -n "__fish_ferret_using_subcommand check" -l timeline -d 'Add a timeline to the report: the findings and the artefact records of the campaigns\' windows ($MFT and $J changes under the campaigns\' folders, Amcache and ShimCache entries) in time order, each line naming its source (log, $MFT, $J, Amcache, ShimCache, registry key last-write)'
complete -c ferret -n "__fish_ferret_using_subcommand check" -s q -l quiet -d 'No progress bar and no notes on stderr'
complete -c ferret -n "__fish_ferret_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l sigma -d 'Sigma rule file or directory (repeatable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l sigma-placeholder -d 'A value for the Sigma placeholder `%NAME%` of `|expand` rules, e.g. `known_cdcs=dc1.corp.example,10.0.0.5` (repeatable; values add up)' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l sigma-placeholder-file -d 'A file of placeholder values: one `NAME=VALUE[,VALUE...]` per line (`#` comments)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l exclude-rule -d 'Do not load the Sigma rule with this id (repeatable)' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l from -d 'Only events at or after this time: RFC 3339 (`2021-03-02T00:00:00Z`), `YYYY-MM-DD` or `YYYY-MM-DD hh:mm:ss` (UTC)' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l to -d 'Only events at or before this time (same forms; a bare date means the end of that day)' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l max-decompressed -d 'Stop decompressing a `.gz` log after this many bytes, and report it (the rest of the log was not examined: the run is incomplete). Default 16G' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -s r -l rules -d 'IOC files or folders (STIX 2.1, MISP event exports and feeds, OpenIOC, plain lists of domains, IP addresses and URLs) whose network indicators are looked for in the logs read, beside the intel\'s own; each hit is a finding naming the indicator\'s origin (repeatable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l intel -d 'A signed intel pack (made by `ferret intel pack`) to use instead of the built-in intel. It must verify with --intel-key, or with `intel.pub` in ferret\'s configuration folder' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l intel-key -d 'The public key (minisign) that signs intel packs' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -s j -l threads -d 'Worker threads (0: one per CPU; a request is bounded at four per CPU, and the summary says when it was lowered)' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l exclude -d 'Skip entries matching GLOB (repeatable): a pattern without `/` matches a name, one with `/` the path (for baseline and verify, the path relative to the root)' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l max-file-size -d 'Files larger than SIZE are skipped, counted and reported, never read (K, M, G, T suffixes; `none`: no limit). Default: scan 512M; hunt and check none (logs are streamed). A file check leaves unread makes its run incomplete' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l min-score -l min-severity -d 'Report only findings scored at least N (0–100), or at least a severity: info, low (40), medium (60), high (75), critical (90). `--min-severity` and `--min-level` are the same option' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l format -d 'Report format' -r -f -a "text\t'Human-readable, grouped per file, control characters escaped'
jsonl\t'One JSON record per line (see docs/report-format.md)'
csv\t'One row per finding, then per problem'
html\t'One self-contained HTML page (inline CSS and SVG; no script, no network)'
timesketch\t'Timesketch JSONL (message, datetime, timestamp_desc and the fields flattened)'
ecs\t'Elastic Common Schema 8 NDJSON, one document per line'
ocsf\t'OCSF JSON lines: Detection Finding (2004) per finding, Scan Activity for the run'
cef\t'ArcSight CEF, one record per line'"
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -s o -l output -d 'Write the report to FILE instead of stdout' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l report-to -d 'Also send the report to a ferret collector (after `ferret enroll`). An unreachable collector gets it later: the report is spooled and sent by the next run or `ferret report send`' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l syslog -d 'Also send every finding, problem and the run summary to a syslog receiver, one RFC 5424 message each with a CEF record: udp://HOST:PORT or tcp://HOST:PORT' -r
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -l low-priority -d 'Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host\'s own work goes first'
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -s q -l quiet -d 'No progress bar and no notes on stderr'
complete -c ferret -n "__fish_ferret_using_subcommand hunt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l db -d 'Database: `sqlite:PATH` (default: collector.db in ferret\'s data directory) or `postgres://USER@HOST/DB`' -r
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l listen -d 'Address to listen on. Loopback by default; put a reverse proxy or --tls-* in front before listening on other addresses' -r
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l tls-cert -d 'PEM certificate chain: serve HTTPS (with --tls-key)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l tls-key -d 'PEM private key (with --tls-cert)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l admin-token-file -d 'A file holding an admin API token to accept (instead of printing a generated one on first start)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l body-limit -d 'Largest accepted upload, in bytes' -r
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l max-connections -d 'Connections served at once; more wait in the listen backlog. Keep it below the process\'s open-file limit (`ulimit -n`)' -r
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l header-timeout -d 'Seconds a client has to send a request\'s headers (on a new connection and between keep-alive requests) before the connection is closed' -r
complete -c ferret -n "__fish_ferret_using_subcommand serve" -l tls-handshake-timeout -d 'Seconds a client has to finish the TLS handshake' -r
complete -c ferret -n "__fish_ferret_using_subcommand serve" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand enroll" -l secret -d 'The organisation\'s enrolment secret' -r
complete -c ferret -n "__fish_ferret_using_subcommand enroll" -l name -d 'The name this host reports under (default: the host name)' -r
complete -c ferret -n "__fish_ferret_using_subcommand enroll" -l directive-key -d 'The organisation\'s directive public key (a file from `ferret keygen`, or its text), from the coordinator. Without it, the key the collector advertises is pinned (trust on first use) and its fingerprint printed for you to compare' -r
complete -c ferret -n "__fish_ferret_using_subcommand enroll" -l ca -d 'Trust only this CA certificate (PEM) for the collector; kept in the enrolment, so `report` and `agent` use it too' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand enroll" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand report; and not __fish_seen_subcommand_from send upload help" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand report; and not __fish_seen_subcommand_from send upload help" -f -a "send" -d 'Send the reports waiting in the spool to the collector'
complete -c ferret -n "__fish_ferret_using_subcommand report; and not __fish_seen_subcommand_from send upload help" -f -a "upload" -d 'Upload a JSONL report file to the collector'
complete -c ferret -n "__fish_ferret_using_subcommand report; and not __fish_seen_subcommand_from send upload help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from send" -l report-to -l url -d 'The collector (default: the one this host enrolled with). `--report-to` is the same option, as on the examining verbs' -r
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from send" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from upload" -l report-to -l url -d 'The collector (default: the one this host enrolled with). `--url` is the same option' -r
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from upload" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "send" -d 'Send the reports waiting in the spool to the collector'
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "upload" -d 'Upload a JSONL report file to the collector'
complete -c ferret -n "__fish_ferret_using_subcommand report; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand agent" -l interval -d 'Seconds between polls when not --once' -r
complete -c ferret -n "__fish_ferret_using_subcommand agent" -l once -d 'Run the pending directives once and exit (otherwise poll every --interval)'
complete -c ferret -n "__fish_ferret_using_subcommand agent" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -l url -d 'The collector (default: the one this host enrolled with)' -r
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -l token-file -d 'A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -l ca -d 'Trust only this CA certificate (PEM) for the collector (default: the enrolment\'s)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -f -a "org" -d 'Organisations'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -f -a "secret" -d 'Enrolment secrets'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -f -a "user" -d 'Dashboard users'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -f -a "directive" -d 'Signed directives'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -f -a "host" -d 'Enrolled hosts'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and not __fish_seen_subcommand_from org secret user directive host help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -l url -d 'The collector (default: the one this host enrolled with)' -r
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -l token-file -d 'A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -l ca -d 'Trust only this CA certificate (PEM) for the collector (default: the enrolment\'s)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "create" -d 'Create an organisation; prints its enrolment secret once'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "list" -d 'List organisations'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "set-key" -d 'Register (or replace) the organisation\'s directive public key'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from org" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from secret" -l url -d 'The collector (default: the one this host enrolled with)' -r
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from secret" -l token-file -d 'A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from secret" -l ca -d 'Trust only this CA certificate (PEM) for the collector (default: the enrolment\'s)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from secret" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from secret" -f -a "new" -d 'A new enrolment secret for an organisation (printed once)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from secret" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from user" -l url -d 'The collector (default: the one this host enrolled with)' -r
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from user" -l token-file -d 'A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from user" -l ca -d 'Trust only this CA certificate (PEM) for the collector (default: the enrolment\'s)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from user" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "add" -d 'Add a dashboard user (or give an existing one a role)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from user" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -l url -d 'The collector (default: the one this host enrolled with)' -r
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -l token-file -d 'A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -l ca -d 'Trust only this CA certificate (PEM) for the collector (default: the enrolment\'s)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "sign" -d 'Sign a directive offline (no collector): SPEC.json → envelope file'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "publish" -d 'Publish a directive: a signed envelope file, or sign one now with --sign'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "list" -d 'List directives'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "status" -d 'A directive\'s hosts per status'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "close" -d 'Close a directive: agents are no longer served it'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "export" -d 'Export a directive\'s roll-up, one row per host'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from directive" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from host" -l url -d 'The collector (default: the one this host enrolled with)' -r
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from host" -l token-file -d 'A file holding the admin token (default: the FERRET_ADMIN_TOKEN environment variable)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from host" -l ca -d 'Trust only this CA certificate (PEM) for the collector (default: the enrolment\'s)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from host" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from host" -f -a "list" -d 'List enrolled hosts'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from host" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "org" -d 'Organisations'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "secret" -d 'Enrolment secrets'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "user" -d 'Dashboard users'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "directive" -d 'Signed directives'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "host" -d 'Enrolled hosts'
complete -c ferret -n "__fish_ferret_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -s r -l rules -d 'A rule file or directory: YARA (.yar/.yara), signature-base/Loki hash or file-name IOCs, plain hash lists, ClamAV .hdb/.hsb, STIX 2.1 JSON, OpenIOC .ioc, or a compiled bundle. Repeatable' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l cache-dir -d 'Keep compiled YARA rules in DIR and reuse them while the sources are unchanged (off by default: rules are compiled in memory and nothing is written on the examined host)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l intel -d 'A signed intel pack (made by `ferret intel pack`) to use instead of the built-in intel. It must verify with --intel-key, or with `intel.pub` in ferret\'s configuration folder' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l intel-key -d 'The public key (minisign) that signs intel packs' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l yara-timeout -d 'Per-file YARA time limit in seconds (default 60)' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -s j -l threads -d 'Worker threads (0: one per CPU; a request is bounded at four per CPU, and the summary says when it was lowered)' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l exclude -d 'Skip entries matching GLOB (repeatable): a pattern without `/` matches a name, one with `/` the path (for baseline and verify, the path relative to the root)' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l max-file-size -d 'Files larger than SIZE are skipped, counted and reported, never read (K, M, G, T suffixes; `none`: no limit). Default: scan 512M; hunt and check none (logs are streamed). A file check leaves unread makes its run incomplete' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l min-score -l min-severity -d 'Report only findings scored at least N (0–100), or at least a severity: info, low (40), medium (60), high (75), critical (90). `--min-severity` and `--min-level` are the same option' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l format -d 'Report format' -r -f -a "text\t'Human-readable, grouped per file, control characters escaped'
jsonl\t'One JSON record per line (see docs/report-format.md)'
csv\t'One row per finding, then per problem'
html\t'One self-contained HTML page (inline CSS and SVG; no script, no network)'
timesketch\t'Timesketch JSONL (message, datetime, timestamp_desc and the fields flattened)'
ecs\t'Elastic Common Schema 8 NDJSON, one document per line'
ocsf\t'OCSF JSON lines: Detection Finding (2004) per finding, Scan Activity for the run'
cef\t'ArcSight CEF, one record per line'"
complete -c ferret -n "__fish_ferret_using_subcommand scan" -s o -l output -d 'Write the report to FILE instead of stdout' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l report-to -d 'Also send the report to a ferret collector (after `ferret enroll`). An unreachable collector gets it later: the report is spooled and sent by the next run or `ferret report send`' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l syslog -d 'Also send every finding, problem and the run summary to a syslog receiver, one RFC 5424 message each with a CEF record: udp://HOST:PORT or tcp://HOST:PORT' -r
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l no-builtin -d 'Do not load the built-in rule pack'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l no-cache -d 'Compile in memory (the default; kept for older scripts)'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l no-default-excludes -d 'Do not exclude /proc, /sys, /dev and /run when scanning `/`'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -s L -l follow-symlinks -d 'Follow symbolic links (loops are detected)'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l one-file-system -d 'Stay on the filesystem of each root (default: on when scanning `/`)'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l cross-filesystems -d 'Descend into other filesystems even when scanning `/`'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l open-containers -d 'Also open disk images found inside the walked trees (`.img`, `.vhdx`, `.vmdk`, `.e01`, …, recognised by content) and scan their file systems; images named as targets are always opened'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l no-archives -d 'Do not read the members of archives found inside the walked trees (`.zip`, `.tar`, `.tar.gz`, `.tgz`; Velociraptor and KAPE collections among them); archives named as targets are always read'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l verify-container -d 'Read the whole disk of every container named (E01, VHDX, VMDK, VHD) and check it against the checksums the container stores (an E01\'s MD5 and SHA-1); a mismatch is a problem'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -l low-priority -d 'Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host\'s own work goes first'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -s q -l quiet -d 'No progress bar and no notes on stderr'
complete -c ferret -n "__fish_ferret_using_subcommand scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and not __fish_seen_subcommand_from compile help" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and not __fish_seen_subcommand_from compile help" -f -a "compile" -d 'Compile the rules (built-in pack and --rules) into a bundle that `--rules FILE` loads'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and not __fish_seen_subcommand_from compile help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from compile" -s r -l rules -d 'A rule file or directory: YARA (.yar/.yara), signature-base/Loki hash or file-name IOCs, plain hash lists, ClamAV .hdb/.hsb, STIX 2.1 JSON, OpenIOC .ioc, or a compiled bundle. Repeatable' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from compile" -l cache-dir -d 'Keep compiled YARA rules in DIR and reuse them while the sources are unchanged (off by default: rules are compiled in memory and nothing is written on the examined host)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from compile" -s o -l output -d 'Where to write the bundle' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from compile" -l no-builtin -d 'Do not load the built-in rule pack'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from compile" -l no-cache -d 'Compile in memory (the default; kept for older scripts)'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from compile" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "compile" -d 'Compile the rules (built-in pack and --rules) into a bundle that `--rules FILE` loads'
complete -c ferret -n "__fish_ferret_using_subcommand rules; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand keygen" -s o -l output -d 'Secret key file to create (mode 0600); the public key goes to FILE.pub' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand keygen" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -s o -l output -d 'Manifest file to write (written beside it under a temporary name, renamed when complete: an interrupted run leaves an existing manifest as it was)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l sign -d 'Sign with this secret key (from `ferret keygen`); writes MANIFEST.minisig' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l policy -d 'Policy file (TOML); default: the built-in Linux policy' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l hash -d 'Content digest' -r -f -a "sha256\t'SHA-256'
blake3\t'BLAKE3'"
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -s j -l threads -d 'Worker threads (0: one per CPU; a request is bounded at four per CPU, and the summary says when it was lowered)' -r
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l exclude -d 'Skip entries matching GLOB (repeatable): a pattern without `/` matches a name, one with `/` the path (for baseline and verify, the path relative to the root)' -r
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l force -d 'Replace an existing signed manifest (one with MANIFEST.minisig beside it). Its old signature is removed, or replaced by the new one with --sign'
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l zstd -d 'Compress the manifest with zstd'
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l one-file-system -d 'Stay on the root\'s file system'
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -s q -l quiet -d 'No notes on stderr'
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -l low-priority -d 'Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host\'s own work goes first'
complete -c ferret -n "__fish_ferret_using_subcommand baseline" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l root -d 'The root (same as ROOT; for `--dpkg`)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -s m -l manifest -d 'The manifest (from `ferret baseline`)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l pubkey -d 'The trusted public key (brought from elsewhere, not from the examined host)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l signature -d 'The detached signature (default: MANIFEST.minisig)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l policy -d 'Policy file (TOML); default: the built-in Linux policy' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l package -d 'With --dpkg: check only this package, `NAME` or `NAME:ARCH` (repeatable). Every check is limited to the named packages; a name the database does not know makes the run incomplete' -r
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l unowned-in -d 'With --dpkg: also look for executables and ELF objects no package owns in DIR (relative to the root; repeatable), e.g. usr/local, opt or home, where packages do not install and which are not searched otherwise' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -s j -l threads -d 'Worker threads (0: one per CPU; a request is bounded at four per CPU, and the summary says when it was lowered)' -r
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l exclude -d 'Skip entries matching GLOB (repeatable): a pattern without `/` matches a name, one with `/` the path (for baseline and verify, the path relative to the root)' -r
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l min-score -l min-severity -d 'Report only findings scored at least N (0–100), or at least a severity: info, low (40), medium (60), high (75), critical (90). `--min-severity` and `--min-level` are the same option' -r
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l format -d 'Report format' -r -f -a "text\t'Human-readable, grouped per file, control characters escaped'
jsonl\t'One JSON record per line (see docs/report-format.md)'
csv\t'One row per finding, then per problem'
html\t'One self-contained HTML page (inline CSS and SVG; no script, no network)'
timesketch\t'Timesketch JSONL (message, datetime, timestamp_desc and the fields flattened)'
ecs\t'Elastic Common Schema 8 NDJSON, one document per line'
ocsf\t'OCSF JSON lines: Detection Finding (2004) per finding, Scan Activity for the run'
cef\t'ArcSight CEF, one record per line'"
complete -c ferret -n "__fish_ferret_using_subcommand verify" -s o -l output -d 'Write the report to FILE instead of stdout' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l report-to -d 'Also send the report to a ferret collector (after `ferret enroll`). An unreachable collector gets it later: the report is spooled and sent by the next run or `ferret report send`' -r
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l syslog -d 'Also send every finding, problem and the run summary to a syslog receiver, one RFC 5424 message each with a CEF record: udp://HOST:PORT or tcp://HOST:PORT' -r
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l allow-unsigned -d 'Check an unsigned manifest anyway; every finding is marked unauthenticated'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l one-file-system -d 'Stay on the root\'s file system'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l dpkg -d 'Verify installed Debian packages against var/lib/dpkg under the root instead'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l no-unowned -d 'With --dpkg: do not look for files no package owns'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -l low-priority -d 'Run at the lowest CPU priority (niceness 19) and in the idle I/O class, so the host\'s own work goes first'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -s q -l quiet -d 'No progress bar and no notes on stderr'
complete -c ferret -n "__fish_ferret_using_subcommand verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand diff" -l pubkey -d 'Trusted public key both manifests must be signed with' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand diff" -l policy -d 'Policy file (TOML) selecting the attributes compared; default: every attribute' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand diff" -l format -d 'Report format' -r -f -a "text\t'Human-readable, grouped per file, control characters escaped'
jsonl\t'One JSON record per line (see docs/report-format.md)'
csv\t'One row per finding, then per problem'
html\t'One self-contained HTML page (inline CSS and SVG; no script, no network)'
timesketch\t'Timesketch JSONL (message, datetime, timestamp_desc and the fields flattened)'
ecs\t'Elastic Common Schema 8 NDJSON, one document per line'
ocsf\t'OCSF JSON lines: Detection Finding (2004) per finding, Scan Activity for the run'
cef\t'ArcSight CEF, one record per line'"
complete -c ferret -n "__fish_ferret_using_subcommand diff" -s o -l output -d 'Write the report to FILE instead of stdout' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand diff" -l report-to -d 'Also send the report to a ferret collector (after `ferret enroll`). An unreachable collector gets it later: the report is spooled and sent by the next run or `ferret report send`' -r
complete -c ferret -n "__fish_ferret_using_subcommand diff" -l syslog -d 'Also send every finding, problem and the run summary to a syslog receiver, one RFC 5424 message each with a CEF record: udp://HOST:PORT or tcp://HOST:PORT' -r
complete -c ferret -n "__fish_ferret_using_subcommand diff" -l allow-unsigned -d 'Compare without checking signatures (findings are marked unauthenticated)'
complete -c ferret -n "__fish_ferret_using_subcommand diff" -s q -l quiet -d 'No progress bar and no notes on stderr'
complete -c ferret -n "__fish_ferret_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and not __fish_seen_subcommand_from show pack pull help" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and not __fish_seen_subcommand_from show pack pull help" -f -a "show" -d 'Show the loaded intel: tables and rows per campaign, sources and dates, identity'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and not __fish_seen_subcommand_from show pack pull help" -f -a "pack" -d 'Pack a folder of intel tables (`CAMPAIGN/NAME.tsv`) into one signed file'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and not __fish_seen_subcommand_from show pack pull help" -f -a "pull" -d 'Fetch a TAXII 2.1 collection\'s objects into a folder of STIX 2.1 bundles (resumable)'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and not __fish_seen_subcommand_from show pack pull help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from show" -l intel -d 'A signed intel pack (made by `ferret intel pack`) to use instead of the built-in intel. It must verify with --intel-key, or with `intel.pub` in ferret\'s configuration folder' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from show" -l intel-key -d 'The public key (minisign) that signs intel packs' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pack" -s o -l output -d 'The pack to write' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pack" -l sign -d 'The secret key (made by `ferret keygen`) to sign with' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pack" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l collection -d 'The collection to pull, by id (or by title)' -r
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l since -d 'Only objects added after this time (RFC 3339 or YYYY-MM-DD); default: resume from the state file in DIR, else everything' -r
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -s o -l output -d 'The folder the bundles and the state file are written to (created if missing)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l api-root -d 'The API root to use when the server offers several and no default' -r
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l user -d 'User name for HTTP basic authentication (with --password-file)' -r
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l password-file -d 'File holding the basic-authentication password (first line)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l token-file -d 'File holding a bearer token (first line)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l ca -d 'Trust only the certificates in this PEM file (a private CA) for https' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -l page-size -d 'Objects asked for per page (the server may send fewer)' -r
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from pull" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the loaded intel: tables and rows per campaign, sources and dates, identity'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from help" -f -a "pack" -d 'Pack a folder of intel tables (`CAMPAIGN/NAME.tsv`) into one signed file'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from help" -f -a "pull" -d 'Fetch a TAXII 2.1 collection\'s objects into a folder of STIX 2.1 bundles (resumable)'
complete -c ferret -n "__fish_ferret_using_subcommand intel; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print the files read, then every setting\'s effective value and its source (a file or the default). Command-line options win over every value shown'
complete -c ferret -n "__fish_ferret_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the files read, then every setting\'s effective value and its source (a file or the default). Command-line options win over every value shown'
complete -c ferret -n "__fish_ferret_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ferret -n "__fish_ferret_using_subcommand man" -l out -d 'The folder to write the pages into (it must exist; pages in it are replaced)' -r -F
complete -c ferret -n "__fish_ferret_using_subcommand man" -s h -l help -d 'Print help'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "check" -d 'Answer per campaign (ProxyLogon, SUNBURST, Pulse and Ivanti Connect Secure, ProxyShell): AFFECTED, NOT FOUND or UNKNOWN'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "hunt" -d 'Hunt logs (EVTX, JSON, syslog, W3C/IIS, Exchange, access, DNS) with Sigma rules'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "serve" -d 'Run the fleet collector and its dashboard'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "enroll" -d 'Enrol this host with a collector'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "report" -d 'Send reports to the collector (spooled ones, or a JSONL file)'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "agent" -d 'Run the directives the collector has for this host'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "admin" -d 'Administer a collector: organisations, secrets, users, hosts, signed directives'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "scan" -d 'Sweep files for known-bad hashes, names and YARA rules'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "rules" -d 'Manage rule sets (compile a bundle)'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "keygen" -d 'Create an Ed25519 key pair (minisign format) for signing manifests'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "baseline" -d 'Record a tree in a (signed) manifest'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "verify" -d 'Check a tree against a signed manifest, or packages against dpkg\'s checksums'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "diff" -d 'Show what changed between two manifests'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "intel" -d 'Campaign intel: show what is loaded, pack and sign intel tables, pull a TAXII 2.1 collection'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "config" -d 'Show the configuration file settings in effect and where each came from'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "completions" -d 'Print a shell completion script (bash, zsh or fish)'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "man" -d 'Write the manual pages (ferret.1 and one per verb) into a folder'
complete -c ferret -n "__fish_ferret_using_subcommand help; and not __fish_seen_subcommand_from check hunt serve enroll report agent admin scan rules keygen baseline verify diff intel config completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "send" -d 'Send the reports waiting in the spool to the collector'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from report" -f -a "upload" -d 'Upload a JSONL report file to the collector'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "org" -d 'Organisations'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "secret" -d 'Enrolment secrets'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "user" -d 'Dashboard users'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "directive" -d 'Signed directives'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "host" -d 'Enrolled hosts'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from rules" -f -a "compile" -d 'Compile the rules (built-in pack and --rules) into a bundle that `--rules FILE` loads'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from intel" -f -a "show" -d 'Show the loaded intel: tables and rows per campaign, sources and dates, identity'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from intel" -f -a "pack" -d 'Pack a folder of intel tables (`CAMPAIGN/NAME.tsv`) into one signed file'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from intel" -f -a "pull" -d 'Fetch a TAXII 2.1 collection\'s objects into a folder of STIX 2.1 bundles (resumable)'
complete -c ferret -n "__fish_ferret_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the files read, then every setting\'s effective value and its source (a file or the default). Command-line options win over every value shown'
