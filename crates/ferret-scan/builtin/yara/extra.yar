/*
   ferret built-in rules that complement the campaign pack in ferret-ioc: a process-spawning
   ASPX page, the PULSECHECK header-driven CGI shell and the TEARDROP loader. Written for
   ferret from the public descriptions in CISA AA21-062A, AA20-352A and AA21-110A.
*/

rule ferret_aspx_request_to_process
{
    meta:
        description = "ASPX page that starts a process with a command taken from the request"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        author = "ferret"
        date = "2021-03-10"
        score = 70
    strings:
        $page = "<%@ Page" nocase
        $proc1 = "ProcessStartInfo" nocase
        $proc2 = "Process.Start" nocase
        $cmd = "cmd.exe" nocase
        $req1 = "Request.Form[" nocase
        $req2 = "Request.QueryString[" nocase
        $req3 = "Request.Item[" nocase
    condition:
        filesize < 512KB and $page and 1 of ($proc*) and $cmd and 1 of ($req*)
}

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

rule ferret_teardrop_loader
{
    meta:
        description = "TEARDROP: in-memory dropper that reads its payload from a file posing as a JPEG (gracious_truth.jpg)"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa20-352a"
        author = "ferret"
        date = "2020-12-17"
        score = 85
    strings:
        $jpg = "gracious_truth.jpg" ascii wide nocase
    condition:
        uint16(0) == 0x5a4d and filesize < 5MB and $jpg
}
