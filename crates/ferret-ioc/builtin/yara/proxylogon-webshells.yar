// ferret built-in YARA rules: web shells written through the Exchange ProxyLogon chain.
// Written for ferret from public descriptions; plain YARA, no modules.

rule ferret_proxylogon_oab_config_webshell
{
    meta:
        description = "Exported Exchange OAB virtual directory settings whose URL field carries a server-side JScript eval shell, the file ProxyLogon's arbitrary-write step leaves behind"
        author = "ferret"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        date = "2021-03-10"
        score = 90
    strings:
        $script = "<script language=\"JScript\" runat=\"server\">" nocase
        $eval = /eval\s*\(\s*Request/ nocase
        $oab1 = "ExternalUrl" nocase
        $oab2 = "InternalUrl" nocase
        $oab3 = "OfflineAddressBooks" nocase
        $oab4 = "OAB (Default Web Site)" nocase
    condition:
        filesize < 64KB and $script and $eval and 2 of ($oab*)
}

rule ferret_webshell_aspx_jscript_page_load_eval
{
    meta:
        description = "ASPX page with a server-side JScript Page_Load that evaluates request data, the shape of the shells dropped in OWA and aspnet_client folders in March 2021"
        author = "ferret"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
        date = "2021-03-10"
        score = 80
    strings:
        $script = /<script\s+language\s*=\s*"?JScript"?\s+runat\s*=\s*"?server"?\s*>/ nocase
        $page_load = "Page_Load" nocase
        $eval = /eval\s*\(\s*Request/ nocase
    condition:
        filesize < 32KB and $script and $page_load and $eval
}
