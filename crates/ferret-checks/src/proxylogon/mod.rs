//! ProxyLogon (CVE-2021-26855/26857/26858/27065, AA21-062A) detectors, one file each, and the
//! helpers they share.

pub mod pl001_anchor_mailbox;
pub mod pl002_um_invalid_cast;
pub mod pl003_oab_file_write;
pub mod pl004_ecp_virtual_directory;
pub mod pl005_iis_exploit_requests;
pub mod pl006_web_shell;
pub mod pl007_lsass_dump;
pub mod pl008_published_client_ip;
pub mod pl009_deleted_web_shell;

/// CISA alert AA21-062A.
pub const REF_AA21_062A: &str = "CISA AA21-062A, Mitigate Microsoft Exchange Server Vulnerabilities <https://us-cert.cisa.gov/ncas/alerts/aa21-062a>";
/// Microsoft's HAFNIUM write-up with the log queries for each CVE.
pub const REF_MSFT_HAFNIUM: &str = "Microsoft, HAFNIUM targeting Exchange Servers with 0-day exploits <https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/>";
/// Volexity's write-up of the exploitation it observed.
pub const REF_VOLEXITY: &str = "Volexity, Operation Exchange Marauder <https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/>";

pub(crate) use crate::detector::field;

/// ASCII case-insensitive `starts_with`.
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len()
        && s.as_bytes().iter().zip(prefix.as_bytes()).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// ASCII case-insensitive `find`.
pub(crate) fn find_ci(s: &str, needle: &str) -> Option<usize> {
    let (h, n) = (s.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod never_panics {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every matcher the ProxyLogon detectors run on log text and file content takes any
        /// input without panicking.
        #[test]
        fn matchers_take_any_text(s in ".{0,300}", b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = pl001_anchor_mailbox::forged_anchor(&s);
            let _ = pl003_oab_file_write::written_path(&s).map(pl003_oab_file_write::under_oab);
            let _ = pl004_ecp_virtual_directory::cmdlet_end(&s, "Set-");
            let _ = pl004_ecp_virtual_directory::set_with_script(&s);
            let _ = pl005_iis_exploit_requests::exploit_stem(&s);
            let _ = pl005_iis_exploit_requests::published_agent(&s);
            let _ = pl006_web_shell::content_cue(&b);
            let _ = pl006_web_shell::content_cue(s.as_bytes());
            let _ = pl007_lsass_dump::classify(&s);
            let _ = find_ci(&s, "ServerInfo~");
        }

        /// Matchers anchored on literals find them wherever they sit.
        #[test]
        fn anchors_found_anywhere(pre in "[a-z ,]{0,40}", post in "[a-z0-9./]{1,40}") {
            let line = format!("{pre}Download failed and temporary file 'C:\\\\x\\\\{post}' needs to be removed");
            prop_assert!(pl003_oab_file_write::written_path(&line).is_some());
            let anchor = format!("ServerInfo~h/{post}");
            prop_assert_eq!(
                pl001_anchor_mailbox::forged_anchor(&anchor),
                !format!("/{post}").to_ascii_lowercase().contains("/autodiscover")
            );
        }
    }
}
