//! The Pulse Connect Secure tables: the families' hashes, names and product files
//! (`pulse-secure/families.tsv`) and their code markers (`pulse-secure/markers.tsv`).

/// What one published indicator says about a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file hash (MD5, SHA-1 or SHA-256 by length).
    Hash,
    /// A file name never shipped with the product: evidence on its own.
    BadName,
    /// An absolute appliance path never shipped with the product: evidence on its own.
    BadPath,
    /// A published name too generic to decide alone: a lead.
    LeadName,
    /// A published path too generic to decide alone: a lead.
    LeadPath,
    /// The name of a genuine product file that a family modifies: never a finding by name.
    Product,
}

/// One row of `pulse-secure/families.tsv`.
#[derive(Clone, Debug)]
pub struct Indicator {
    /// What it is.
    pub kind: Kind,
    /// The hash (lowercase hex), the lowercase file name, or the appliance path.
    pub value: String,
    /// The family or the list it comes from.
    pub family: String,
    /// The on-box name or path published with it (may be empty).
    pub name: String,
    /// Who published it, and when (`source`, `published`).
    pub source: String,
}

/// The published Pulse Connect Secure indicators (`pulse-secure/families.tsv`).
#[derive(Clone, Debug, Default)]
pub struct Families {
    /// The rows, in table order.
    pub rows: Vec<Indicator>,
}

impl Families {
    /// Reads `pulse-secure/families.tsv` from `intel` (none when the table is absent).
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<Families, ferret_intel::IntelError> {
        let path = super::tables::PULSE_FAMILIES;
        let mut rows = Vec::new();
        for row in intel.rows(path) {
            let kind = match super::one_of(
                path,
                row,
                "kind",
                &["md5", "sha1", "sha256", "badname", "badpath", "leadname", "leadpath", "product"],
            )? {
                "md5" | "sha1" | "sha256" => Kind::Hash,
                "badname" => Kind::BadName,
                "badpath" => Kind::BadPath,
                "leadname" => Kind::LeadName,
                "leadpath" => Kind::LeadPath,
                _ => Kind::Product,
            };
            let value = match kind {
                Kind::Hash => row.field("value").to_ascii_lowercase(),
                _ => row.field("value").to_owned(),
            };
            rows.push(Indicator {
                kind,
                value,
                family: row.field("family").to_owned(),
                name: row.field("name").to_owned(),
                source: format!("{} ({})", row.source(), row.published()),
            });
        }
        Ok(Families { rows })
    }

    /// The indicator a file name or appliance path matches by name, if any. Genuine product
    /// files that families modify ([`Kind::Product`]) are never matched by name: see
    /// [`Families::product_file`].
    pub fn by_name(&self, appliance_path_or_name: &str) -> Option<&Indicator> {
        let p = appliance_path_or_name.replace('\\', "/").to_ascii_lowercase();
        let file = p.rsplit('/').next().unwrap_or(&p);
        self.rows.iter().find(|i| match i.kind {
            Kind::BadName | Kind::LeadName => file == i.value,
            Kind::BadPath | Kind::LeadPath => {
                p == i.value || p.ends_with(&format!("/root{}", i.value))
            }
            Kind::Hash | Kind::Product => false,
        })
    }

    /// The row of a genuine product file that published families modify (`meeting_testjs.cgi`,
    /// `welcome.cgi`, `DSUpgrade.pm`, …), by file name.
    pub fn product_file(&self, appliance_path_or_name: &str) -> Option<&Indicator> {
        let p = appliance_path_or_name.replace('\\', "/").to_ascii_lowercase();
        let file = p.rsplit('/').next().unwrap_or(&p);
        self.rows.iter().find(|i| i.kind == Kind::Product && file == i.value)
    }

    /// The indicator a hash (any of MD5/SHA-1/SHA-256, lowercase hex) matches, if any.
    pub fn by_hash(&self, hash: &str) -> Option<&Indicator> {
        self.rows.iter().find(|i| i.kind == Kind::Hash && i.value == hash)
    }
}

/// One set of code markers of a family (`pulse-secure/markers.tsv`): all literals present is a
/// match.
#[derive(Clone, Debug)]
pub struct MarkerSet {
    /// The family.
    pub family: String,
    /// The published analysis the literals come from (the rule's name).
    pub source: String,
    /// The literals.
    pub literals: Vec<String>,
}

/// The families' code markers and one automaton over all their literals.
#[derive(Debug)]
pub struct Markers {
    /// The sets, in table order.
    pub sets: Vec<MarkerSet>,
    /// Pattern id → (set index, literal index).
    ids: Vec<(usize, usize)>,
    ac: Option<aho_corasick::AhoCorasick>,
}

impl Markers {
    /// Reads `pulse-secure/markers.tsv` from `intel`: rows with the same `family` and `set`, in
    /// a run, form one set.
    pub fn from_intel(intel: &ferret_intel::Intel) -> Result<Markers, ferret_intel::IntelError> {
        let path = super::tables::PULSE_MARKERS;
        let mut sets: Vec<MarkerSet> = Vec::new();
        for row in intel.rows(path) {
            let (family, set, literal) =
                (row.field("family"), row.field("set"), row.field("literal"));
            if literal.is_empty() {
                return Err(super::bad(path, row, "the literal is empty".to_owned()));
            }
            match sets.last_mut() {
                Some(s) if s.family == family && s.source == set => {
                    s.literals.push(literal.to_owned());
                }
                _ => sets.push(MarkerSet {
                    family: family.to_owned(),
                    source: set.to_owned(),
                    literals: vec![literal.to_owned()],
                }),
            }
        }
        Ok(Markers::new(sets))
    }

    /// Markers over the given sets.
    pub fn new(sets: Vec<MarkerSet>) -> Markers {
        let mut ids = Vec::new();
        let mut pats = Vec::new();
        for (si, s) in sets.iter().enumerate() {
            for (li, l) in s.literals.iter().enumerate() {
                ids.push((si, li));
                pats.push(l.as_str());
            }
        }
        let ac = aho_corasick::AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&pats)
            .ok();
        Markers { sets, ids, ac }
    }

    /// The first marker set whose literals are all in `content`.
    pub fn matching(&self, content: &[u8]) -> Option<&MarkerSet> {
        let ac = self.ac.as_ref()?;
        let mut seen: Vec<Vec<bool>> =
            self.sets.iter().map(|s| vec![false; s.literals.len()]).collect();
        for m in ac.find_overlapping_iter(content) {
            if let Some(&(si, li)) = self.ids.get(m.pattern().as_usize())
                && let Some(slot) = seen.get_mut(si).and_then(|v| v.get_mut(li))
            {
                *slot = true;
            }
        }
        seen.iter().position(|v| v.iter().all(|b| *b)).and_then(|i| self.sets.get(i))
    }
}
