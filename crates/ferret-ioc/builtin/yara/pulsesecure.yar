// ferret built-in YARA rules: Pulse Connect Secure intrusions of 2021.
// Written for ferret from public descriptions; plain YARA, no modules.

rule ferret_pulse_perl_cgi_exec_param
{
    meta:
        description = "Perl CGI that passes a request parameter straight to system, exec, a pipe open or eval, the core of the web shells planted in Pulse Secure CGI scripts (ATRIUM, PULSECHECK, SLIGHTPULSE style)"
        author = "ferret"
        reference = "https://www.fireeye.com/blog/threat-research/2021/04/suspected-apt-actors-leverage-bypass-techniques-pulse-secure-zero-day.html"
        date = "2021-04-20"
        score = 85
    strings:
        $perl1 = "#!/usr/bin/perl"
        $perl2 = "use CGI"
        $exec1 = /(system|exec)\s*\(?\s*(CGI::param|\$cgi->param|\$query->param)\s*\(/
        $exec2 = /eval\s*\(?\s*(decode_base64\s*\(\s*)?(CGI::param|\$cgi->param|\$query->param)\s*\(/
        $exec3 = /open\s*\(\s*\w+\s*,\s*["']?\|?\s*["']?\s*\.?\s*(CGI::param|\$cgi->param)\s*\(/
    condition:
        filesize < 512KB and any of ($perl*) and any of ($exec*)
}

rule ferret_pulse_integrity_check_short_circuit
{
    meta:
        description = "Shell script whose first command is exit 0 but which still carries integrity-check logic, the way the attackers disabled the Pulse integrity checker (check_integrity.sh)"
        author = "ferret"
        reference = "https://www.fireeye.com/blog/threat-research/2021/04/suspected-apt-actors-leverage-bypass-techniques-pulse-secure-zero-day.html"
        date = "2021-04-20"
        score = 75
    strings:
        $early_exit = /#!\/bin\/(ba)?sh[ \t]*\r?\n([ \t]*#[^\n]*\n|[ \t]*\r?\n){0,5}[ \t]*exit 0[ \t]*\r?\n/
        $i1 = "integrity" nocase
        $i2 = "manifest" nocase
    condition:
        filesize < 256KB and $early_exit at 0 and any of ($i*)
}

rule ferret_pulse_dsupgrade_persistence_patch
{
    meta:
        description = "Pulse DSUpgrade.pm that remounts the file system writable and edits CGI scripts with sed, the persistence patch that re-plants web shells across upgrades"
        author = "ferret"
        reference = "https://www.fireeye.com/blog/threat-research/2021/04/suspected-apt-actors-leverage-bypass-techniques-pulse-secure-zero-day.html"
        date = "2021-04-20"
        score = 70
    strings:
        $pkg = "package DSUpgrade"
        $remount = "remount,rw"
        $sed_cgi = /sed -i[^\n]{0,200}\.cgi/
        $tmp_root = "/tmp/data/root/home/webserver/htdocs/dana-na/"
    condition:
        filesize < 1MB and $pkg and $sed_cgi and ($remount or $tmp_root)
}
