/*
   ferret built-in rules: the SolarWinds Orion supply-chain compromise (SUNBURST, SUPERNOVA,
   TEARDROP). Written for ferret from the public descriptions in CISA AA20-352A and the
   FireEye/Mandiant and Microsoft analyses.
*/

rule ferret_sunburst_backdoor_class
{
    meta:
        description = "SolarWinds.Orion.Core.BusinessLayer.dll carrying the SUNBURST backdoor class OrionImprovementBusinessLayer"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa20-352a"
        author = "ferret"
        date = "2020-12-14"
        score = 95
    strings:
        $cls = "OrionImprovementBusinessLayer" ascii wide
        $ns = "SolarWinds.Orion.Core.BusinessLayer" ascii wide
    condition:
        uint16(0) == 0x5a4d and filesize < 5MB and $cls and $ns
}

rule ferret_supernova_webshell
{
    meta:
        description = "SUPERNOVA: .NET web shell in the Orion logo image handler that compiles and runs C# sent in the request"
        reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa20-352a"
        author = "ferret"
        date = "2020-12-17"
        score = 90
    strings:
        $h = "logoimagehandler" ascii wide nocase
        $p1 = "clazz" ascii wide
        $p2 = "codes" ascii wide
        $c1 = "CompileAssemblyFromSource" ascii wide
        $c2 = "CompilerParameters" ascii wide
        $c3 = "CSharpCodeProvider" ascii wide
    condition:
        uint16(0) == 0x5a4d and filesize < 1MB and $h and $p1 and $p2 and 2 of ($c*)
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
