/*
   ferret built-in rules: backdoors planted on Pulse Connect Secure appliances in 2021.
   Written for ferret from the public descriptions in CISA AA21-110A and Mandiant's
   "Check Your Pulse" analysis.
*/

rule ferret_pulsecheck_header_shell
{
    meta:
        description = "PULSECHECK-style Perl CGI web shell that takes its key, command and counter from X-KEY / X-CMD / X-CNT request headers"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-110a"
        author = "ferret"
        date = "2021-04-20"
        score = 90
    strings:
        $k = "HTTP_X_KEY" ascii
        $c = "HTTP_X_CMD" ascii
        $n = "HTTP_X_CNT" ascii
        $b64 = "MIME::Base64" ascii
    condition:
        filesize < 1MB and 2 of ($k, $c, $n) and $b64
}

rule ferret_pulse_cgi_param_exec
{
    meta:
        description = "Perl CGI under the Pulse Secure web root that passes a request parameter to a shell (ATRIUM / HARDPULSE-style web shells)"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-110a"
        author = "ferret"
        date = "2021-04-20"
        score = 80
    strings:
        $perl = "#!/usr/bin/perl" ascii
        $cgi = "CGI" ascii
        $param = /param\(\s*['"][a-zA-Z0-9_]{1,20}['"]\s*\)/ ascii
        $exec1 = /system\s*\(\s*\$/ ascii
        $exec2 = /`\s*\$[a-zA-Z_]{1,20}\s*`/ ascii
        $exec3 = /open\s*\(\s*[A-Z]+\s*,\s*"\$[a-zA-Z_]{1,20}\s*\|"/ ascii
        $dana = "dana-na" ascii
    condition:
        filesize < 512KB and $perl and $cgi and $param and 1 of ($exec*) and $dana
}

rule ferret_pulse_integrity_checker_neutralised
{
    meta:
        description = "Pulse Secure integrity checker script made to report success unconditionally (an early 'exit 0')"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-110a"
        author = "ferret"
        date = "2021-04-20"
        score = 85
    strings:
        $name = "check_integrity" ascii
        $manifest = "manifest" ascii
        $exit0 = /\n[ \t]*exit[ \t]+0[ \t]*(#[^\n]*)?\n/ ascii
    condition:
        filesize < 256KB and uint16(0) == 0x2123 and $name and $manifest and
        @exit0[1] < 512
}
