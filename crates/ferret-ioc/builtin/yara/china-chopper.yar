// ferret built-in YARA rules: China Chopper style one-line web shells.
// Written for ferret from public descriptions of the shells; plain YARA, no modules.

rule ferret_webshell_china_chopper_aspx
{
    meta:
        description = "Small ASPX page that hands a request value to JScript eval with the unsafe flag, the China Chopper one-liner used after ProxyLogon"
        author = "ferret"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        date = "2021-03-10"
        score = 85
    strings:
        $eval_request = /eval\s*\(\s*Request\s*(\.\s*(Item|Form|QueryString|Params)\s*)?\[/ nocase
        $unsafe = "\"unsafe\"" nocase
        $runat = "runat=\"server\"" nocase
        $page = "<%@ Page" nocase
    condition:
        filesize < 16KB and $eval_request and $unsafe and ($runat or $page)
}

rule ferret_webshell_china_chopper_php
{
    meta:
        description = "Tiny PHP file that evaluates a POST or request parameter directly, the PHP form of the China Chopper client's server side"
        author = "ferret"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
        date = "2021-03-10"
        score = 75
    strings:
        $php = "<?php" nocase
        $eval_param = /@?(eval|assert)\s*\(\s*\$_(POST|REQUEST|GET)\s*\[/ nocase
    condition:
        filesize < 2KB and $php and $eval_param
}
