// ferret built-in YARA rules: SUPERNOVA, the web shell planted in SolarWinds Orion's logo handler.
// Written for ferret from public descriptions; plain YARA, no modules.

rule ferret_supernova_dynamic_compile_handler
{
    meta:
        description = "Orion logo image handler that compiles C# sent in the request (a DynamicRun method building CompilerParameters) and runs it in memory, as SUPERNOVA does"
        author = "ferret"
        reference = "https://www.cisa.gov/news-events/analysis-reports/ar21-027a"
        date = "2021-01-27"
        score = 90
    strings:
        $run = "DynamicRun" ascii wide
        $compiler = "CompilerParameters" ascii wide
        $handler = "logoimagehandler" ascii wide nocase
        $p1 = "clazz" ascii wide
        $p2 = "codes" ascii wide
    condition:
        filesize < 5MB and $run and $compiler and ($handler or all of ($p*))
}
