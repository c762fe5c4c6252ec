//! ProxyShell (CVE-2021-34473, CVE-2021-34523, CVE-2021-31207) detectors, one file each, and
//! what they share: the references and the tables under `intel/proxyshell/`, read from the
//! run's loaded intel ([`crate::intel::CheckIntel::proxyshell`]).
//!
//! The chain: a pre-authentication path confusion in Exchange's Autodiscover front end reaches
//! back-end endpoints (MAPI, PowerShell remoting) as any user (CVE-2021-34473), the PowerShell
//! back end is made to run as an administrator (CVE-2021-34523), and `New-MailboxExportRequest`
//! writes a mailbox, holding a mail whose attachment is an encoded web shell, as a PST file with
//! an `.aspx` name under a web folder (CVE-2021-31207).

pub mod px001_autodiscover_ssrf;
pub mod px002_mailbox_export;
pub mod px003_exported_web_shell;

use ferret_core::Severity;

/// Orange Tsai's write-up of the chain (ZDI).
pub const REF_ZDI: &str = "ZDI (Orange Tsai), From Pwn2Own 2021: A New Attack Surface on Microsoft Exchange - ProxyShell! <https://www.zerodayinitiative.com/blog/2021/8/17/from-pwn2own-2021-a-new-attack-surface-on-microsoft-exchange-proxyshell>";
/// Orange Tsai's Black Hat USA 2021 talk.
pub const REF_BLACKHAT: &str = "Orange Tsai, ProxyLogon is Just the Tip of the Iceberg: A New Attack Surface on Microsoft Exchange Server, Black Hat USA 2021 <https://i.blackhat.com/USA21/Wednesday-Handouts/us-21-ProxyLogon-Is-Just-The-Tip-Of-The-Iceberg-A-New-Attack-Surface-On-Microsoft-Exchange-Server.pdf>";
/// CISA's alert.
pub const REF_CISA: &str = "CISA, Urgent: Protect Against Active Exploitation of ProxyShell Vulnerabilities <https://www.cisa.gov/news-events/alerts/2021/08/21/urgent-protect-against-active-exploitation-proxyshell-vulnerabilities>";
/// Huntress's write-up of the exploitation in the wild.
pub const REF_HUNTRESS: &str = "Huntress, Rapid Response: Microsoft Exchange Servers Still Vulnerable to ProxyShell Exploit <https://www.huntress.com/blog/rapid-response-microsoft-exchange-servers-still-vulnerable-to-proxyshell-exploit>";

/// `%xx` decoding (invalid escapes kept).
fn url_decode(s: &str) -> String {
    crate::pulse::ps006_web_exploitation::url_decode(s)
}

/// The score a finding of this severity gets (the report's severity follows the score).
pub fn score_for(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 95,
        Severity::High => 85,
        Severity::Medium => 65,
        Severity::Low => 45,
        Severity::Info => 20,
    }
}
