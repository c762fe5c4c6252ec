//! Where an examined file came from when it was read out of evidence (a disk image) rather
//! than from the live file system: the container, the partition, the file system and the
//! record, with the file's times as that file system keeps them.
//!
//! Wire form (a finding's `provenance` object, `docs/report-format.md`): every field is
//! optional except `container`, `container_format` and `filesystem`; times are RFC 3339 UTC.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The four times a file system keeps for a file (NTFS: in `$STANDARD_INFORMATION` and,
/// again, in each `$FILE_NAME`; comparing the two shows timestomping).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileTimes {
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    /// Last change of the file's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<DateTime<Utc>>,
    /// Last change of the file's record (metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_changed: Option<DateTime<Utc>>,
    /// Last access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessed: Option<DateTime<Utc>>,
}

/// Where a file inside evidence was found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The container file as it was named on the command line or found in a walked tree (a
    /// disk image, an archive, a collector's folder).
    pub container: String,
    /// The container's format: `raw` (a raw/dd disk or a bare volume), `e01`, `vhd-fixed`,
    /// `vhd-dynamic`, `vhdx-dynamic`, `vmdk-stream-optimized`, … (`docs/report-format.md`);
    /// for a collection `zip`, `tar`, `tar.gz` or `directory`.
    pub container_format: String,
    /// The collector whose layout the collection has: `velociraptor` or `kape`; absent for a
    /// disk image or a plain archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// The member of the collection, as stored there (`uploads/auto/C%3A/x.aspx`, `C/x.aspx`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The partition table: `mbr`, `gpt`, or absent for a bare volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_table: Option<String>,
    /// The partition number (1-based, as the partition table numbers it; MBR logical
    /// partitions from 5), absent for a bare volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// The file system: `ntfs`, `ext4`, `ext3` or `ext2`; absent (empty) for a member of a
    /// collection.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filesystem: String,
    /// The file's record number in the file system (NTFS: the MFT record; ext2/3/4: the
    /// inode number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The alternate data stream read, when not the file's main data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The times of NTFS's `$STANDARD_INFORMATION` (what Windows shows and tools can set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_information: Option<FileTimes>,
    /// The times of the `$FILE_NAME` the path was built from (set by the kernel only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<FileTimes>,
    /// The times of a file system that keeps one set per file (ext2/3/4: the inode's
    /// `crtime`, `mtime`, `ctime` and `atime`; `created` only where the inode has room for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<FileTimes>,
}

impl Provenance {
    /// One line naming the place: `disk.img, partition 2 (gpt), ntfs, record 64`, or for a
    /// collection `c.zip (velociraptor zip), member uploads/auto/C%3A/x.aspx`.
    pub fn describe(&self) -> String {
        let mut s = self.container.clone();
        if let Some(m) = &self.member {
            match &self.collection {
                Some(c) => s.push_str(&format!(" ({c} {})", self.container_format)),
                None => s.push_str(&format!(" ({})", self.container_format)),
            }
            s.push_str(&format!(", member {m}"));
            return s;
        }
        if let Some(p) = self.partition {
            s.push_str(&format!(", partition {p}"));
            if let Some(t) = &self.partition_table {
                s.push_str(&format!(" ({t})"));
            }
        }
        s.push_str(", ");
        s.push_str(&self.filesystem);
        if let Some(r) = self.record {
            let what = if self.filesystem.starts_with("ext") { "inode" } else { "record" };
            s.push_str(&format!(", {what} {r}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_partition_and_record() {
        let p = Provenance {
            container: "disk.img".into(),
            container_format: "raw".into(),
            partition_table: Some("gpt".into()),
            partition: Some(2),
            filesystem: "ntfs".into(),
            record: Some(64),
            ..Provenance::default()
        };
        assert_eq!(p.describe(), "disk.img, partition 2 (gpt), ntfs, record 64");
        let bare = Provenance { partition: None, record: None, ..p };
        assert_eq!(bare.describe(), "disk.img, ntfs");
        let ext4 = Provenance { filesystem: "ext4".into(), record: Some(12), ..bare };
        assert_eq!(ext4.describe(), "disk.img, ext4, inode 12");
        let member = Provenance {
            container: "c.zip".into(),
            container_format: "zip".into(),
            collection: Some("velociraptor".into()),
            member: Some("uploads/auto/C%3A/x".into()),
            ..Provenance::default()
        };
        assert_eq!(member.describe(), "c.zip (velociraptor zip), member uploads/auto/C%3A/x");
        let wire = serde_json::to_value(&member).unwrap();
        assert!(wire.get("filesystem").is_none(), "{wire}");
    }
}
