/*
   ferret built-in rules: web shells dropped through the 2021 Exchange ProxyLogon chain
   (CVE-2021-26855 / 26857 / 26858 / 27065). Written for ferret from the public
   descriptions in CISA AA21-062A and Microsoft's HAFNIUM write-up.
*/

rule ferret_proxylogon_chopper_aspx
{
    meta:
        description = "One-line ASPX web shell that evaluates a request parameter with the 'unsafe' flag (China Chopper style, as dropped after ProxyLogon)"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        author = "ferret"
        date = "2021-03-10"
        score = 85
    strings:
        $eval = "eval(Request" nocase
        $unsafe = "\"unsafe\"" nocase
        $page = "<%@ Page" nocase
        $script = "runat=\"server\"" nocase
    condition:
        filesize < 512KB and $eval and $unsafe and ($page or $script)
}

rule ferret_proxylogon_oab_external_url_shell
{
    meta:
        description = "Exchange OAB virtual directory export carrying a server-side JScript block in ExternalUrl (CVE-2021-27065 write primitive)"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        author = "ferret"
        date = "2021-03-10"
        score = 90
    strings:
        $oab1 = "ExternalUrl" nocase
        $oab2 = "OfflineAddressBook" nocase
        $oab3 = "InternalUrl" nocase
        $js = /<script language=.{0,3}JScript.{0,3} runat=.{0,3}server/ nocase
    condition:
        filesize < 1MB and $js and 2 of ($oab*)
}

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
