// ferret built-in YARA rules: SUNBURST, the backdoor in trojanized SolarWinds Orion builds.
// Written for ferret from public descriptions; plain YARA, no modules.

rule ferret_sunburst_backdoor_class
{
    meta:
        description = "Portable executable holding the OrionImprovementBusinessLayer class that SUNBURST added to the Orion business-layer DLL, with one of its helper names"
        author = "ferret"
        reference = "https://www.fireeye.com/blog/threat-research/2020/12/evasive-attacker-leverages-solarwinds-supply-chain-compromises-with-sunburst-backdoor.html"
        date = "2020-12-14"
        score = 95
    strings:
        $class = "OrionImprovementBusinessLayer" ascii wide
        $h1 = "ReportWatcherRetry" ascii wide
        $h2 = "CollectSystemDescription" ascii wide
        $h3 = "GetOrCreateUserID" ascii wide
        $h4 = "UploadSystemDescription" ascii wide
    condition:
        uint16(0) == 0x5A4D and filesize < 20MB and $class and any of ($h*)
}

rule ferret_sunburst_c2_domain
{
    meta:
        description = "File naming avsvmcloud.com, the domain SUNBURST resolved for its first-stage command and control (DNS logs, configs, unpacked code); a file that parses whole as a rule file or an indicator list only gets an info note"
        indicator_name = true
        author = "ferret"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa20-352a"
        date = "2020-12-17"
        score = 60
    strings:
        $domain = "avsvmcloud.com" ascii wide nocase
    condition:
        $domain
}
