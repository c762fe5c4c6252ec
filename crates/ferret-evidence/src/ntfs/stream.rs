//! Reading a stream's data: resident bytes, or non-resident runs (sparse runs and bytes past
//! the initialised size read as zeros), decompressing LZNT1 compression units.

use std::io::{self, Read, Seek, SeekFrom};

use super::record::Run;
use crate::image::{ReadAt, read_exact_at};

/// The largest compression unit read (NTFS writes 16 clusters of at most 4 KiB: 64 KiB).
const MAX_UNIT: u64 = 1 << 20;

/// Where a stream's data lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamData {
    pub(crate) resident: Option<Vec<u8>>,
    pub(crate) runs: Vec<Run>,
    pub(crate) size: u64,
    pub(crate) init: u64,
    /// Clusters per compression unit (0: not compressed).
    pub(crate) unit_clusters: u64,
}

impl StreamData {
    pub(crate) fn resident(bytes: Vec<u8>) -> StreamData {
        let size = bytes.len() as u64;
        StreamData { resident: Some(bytes), runs: Vec::new(), size, init: size, unit_clusters: 0 }
    }

    /// The run holding virtual cluster `vcn`.
    fn run_at(&self, vcn: u64) -> Option<&Run> {
        let i = self.runs.partition_point(|r| r.vcn.saturating_add(r.len) <= vcn);
        self.runs.get(i).filter(|r| r.vcn <= vcn)
    }

    /// Reads uncompressed data at `offset` (below `init`), at most up to the end of a run.
    pub(crate) fn read_plain(
        &self,
        dev: &dyn ReadAt,
        cluster: u64,
        buf: &mut [u8],
        offset: u64,
    ) -> io::Result<usize> {
        let vcn = offset / cluster;
        let Some(run) = self.run_at(vcn) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("no data run maps byte {offset} of the stream"),
            ));
        };
        let run_end = run.vcn.saturating_add(run.len).saturating_mul(cluster);
        let room = usize::try_from(run_end.saturating_sub(offset)).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let out = buf.get_mut(..n).unwrap_or_default();
        match run.lcn {
            None => {
                out.fill(0);
                Ok(n)
            }
            Some(lcn) => {
                let at =
                    lcn.saturating_add(vcn - run.vcn).saturating_mul(cluster) + offset % cluster;
                read_exact_at(dev, out, at)?;
                Ok(n)
            }
        }
    }

    /// The decompressed bytes of compression unit `unit`.
    fn read_unit(
        &self,
        dev: &dyn ReadAt,
        cluster: u64,
        unit: u64,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let unit_bytes = self.unit_clusters.saturating_mul(cluster);
        let first = unit.saturating_mul(self.unit_clusters);
        let end = first.saturating_add(self.unit_clusters);
        let mut allocated: Vec<(u64, u64)> = Vec::new();
        let mut vcn = first;
        while vcn < end {
            let Some(run) = self.run_at(vcn) else { break };
            let take = run.vcn.saturating_add(run.len).min(end) - vcn;
            if let Some(lcn) = run.lcn {
                allocated.push((lcn.saturating_add(vcn - run.vcn), take));
            }
            vcn += take;
        }
        let count: u64 = allocated.iter().map(|(_, n)| n).sum();
        out.clear();
        let unit_len = usize::try_from(unit_bytes).unwrap_or(0);
        if count == 0 {
            out.resize(unit_len, 0);
            return Ok(());
        }
        let mut raw = vec![0u8; usize::try_from(count.saturating_mul(cluster)).unwrap_or(0)];
        let mut at = 0usize;
        for (lcn, n) in allocated {
            let len = usize::try_from(n * cluster).unwrap_or(0);
            read_exact_at(
                dev,
                raw.get_mut(at..at + len).unwrap_or_default(),
                lcn.saturating_mul(cluster),
            )?;
            at += len;
        }
        if count >= self.unit_clusters {
            // Every cluster allocated: the unit is stored uncompressed.
            *out = raw;
        } else {
            crate::lznt1::decompress(&raw, out, unit_len)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            out.resize(unit_len, 0);
        }
        Ok(())
    }
}

/// `Read + Seek` over one stream of a volume.
pub(crate) struct StreamReader<'a> {
    dev: &'a dyn ReadAt,
    cluster: u64,
    data: StreamData,
    pos: u64,
    unit: Option<(u64, Vec<u8>)>,
}

impl<'a> StreamReader<'a> {
    pub(crate) fn new(dev: &'a dyn ReadAt, cluster: u64, data: StreamData) -> io::Result<Self> {
        if data.unit_clusters > 0
            && data.unit_clusters.checked_mul(cluster).is_none_or(|b| b > MAX_UNIT)
        {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("compression unit of {} clusters of {cluster} bytes", data.unit_clusters),
            ));
        }
        Ok(StreamReader { dev, cluster, data, pos: 0, unit: None })
    }
}

impl Read for StreamReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let d = &self.data;
        if self.pos >= d.size || buf.is_empty() {
            return Ok(0);
        }
        let left = usize::try_from(d.size - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        let buf = buf.get_mut(..want).unwrap_or_default();
        let n = if let Some(bytes) = &d.resident {
            let start = usize::try_from(self.pos).unwrap_or(usize::MAX);
            let src = bytes.get(start..).unwrap_or_default();
            let n = src.len().min(buf.len());
            buf.get_mut(..n).unwrap_or_default().copy_from_slice(src.get(..n).unwrap_or_default());
            if n == 0 {
                return Ok(0);
            }
            n
        } else if self.pos >= d.init {
            buf.fill(0);
            buf.len()
        } else {
            let before_init = usize::try_from(d.init - self.pos).unwrap_or(usize::MAX);
            let buf = buf.get_mut(..buf.len().min(before_init)).unwrap_or_default();
            if d.unit_clusters == 0 {
                d.read_plain(self.dev, self.cluster, buf, self.pos)?
            } else {
                let unit_bytes = d.unit_clusters * self.cluster;
                let unit = self.pos / unit_bytes;
                if self.unit.as_ref().is_none_or(|(u, _)| *u != unit) {
                    let mut out = self.unit.take().map(|(_, v)| v).unwrap_or_default();
                    d.read_unit(self.dev, self.cluster, unit, &mut out)?;
                    self.unit = Some((unit, out));
                }
                let bytes = self.unit.as_ref().map(|(_, v)| v.as_slice()).unwrap_or_default();
                let within = usize::try_from(self.pos % unit_bytes).unwrap_or(usize::MAX);
                let src = bytes.get(within..).unwrap_or_default();
                let n = src.len().min(buf.len());
                buf.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(src.get(..n).unwrap_or_default());
                n
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for StreamReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.data.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let Some(t) = target else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"));
        };
        self.pos = t;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume() -> Vec<u8> {
        // 16 clusters of 512 bytes; cluster n filled with byte n.
        (0u8..16).flat_map(|n| std::iter::repeat_n(n, 512)).collect()
    }

    #[test]
    fn sparse_runs_and_uninitialised_tail_read_as_zeros() {
        let dev = volume();
        let data = StreamData {
            resident: None,
            runs: vec![
                Run { vcn: 0, len: 1, lcn: Some(3) },
                Run { vcn: 1, len: 2, lcn: None },
                Run { vcn: 3, len: 1, lcn: Some(9) },
            ],
            size: 4 * 512,
            init: 3 * 512 + 100,
            unit_clusters: 0,
        };
        let mut r = StreamReader::new(&dev, 512, data.clone()).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), 2048);
        assert!(out[..512].iter().all(|b| *b == 3));
        assert!(out[512..1536].iter().all(|b| *b == 0), "sparse");
        assert!(out[1536..1636].iter().all(|b| *b == 9));
        assert!(out[1636..].iter().all(|b| *b == 0), "past the initialised size");
        r.seek(SeekFrom::Start(1536 + 10)).unwrap();
        let mut b = [0u8; 2];
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, [9, 9]);
    }

    #[test]
    fn compressed_units_stored_sparse_and_lznt1() {
        // Unit size 4 clusters (2 KiB). Unit 0 compressed into cluster 5; unit 1 sparse.
        let text: Vec<u8> = b"webshell ".iter().copied().cycle().take(2048).collect();
        let packed = crate::lznt1::compress(&text);
        assert!(packed.len() <= 512);
        let mut dev = volume();
        dev[5 * 512..5 * 512 + packed.len()].copy_from_slice(&packed);
        dev[5 * 512 + packed.len()..6 * 512].fill(0);
        let data = StreamData {
            resident: None,
            runs: vec![
                Run { vcn: 0, len: 1, lcn: Some(5) },
                Run { vcn: 1, len: 7, lcn: None },
                Run { vcn: 8, len: 4, lcn: Some(12) },
            ],
            size: 3 * 2048,
            init: 3 * 2048,
            unit_clusters: 4,
        };
        let mut out = Vec::new();
        StreamReader::new(&dev, 512, data.clone()).unwrap().read_to_end(&mut out).unwrap();
        assert_eq!(&out[..2048], &text[..]);
        assert!(out[2048..4096].iter().all(|b| *b == 0));
        assert!(out[4096..4608].iter().all(|b| *b == 12), "a fully allocated unit is stored");
    }

    #[test]
    fn a_hole_in_the_runs_is_an_error_not_a_panic() {
        let dev = volume();
        let data = StreamData {
            resident: None,
            runs: vec![Run { vcn: 0, len: 1, lcn: Some(1) }],
            size: 4096,
            init: 4096,
            unit_clusters: 0,
        };
        let mut out = Vec::new();
        let err =
            StreamReader::new(&dev, 512, data.clone()).unwrap().read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
