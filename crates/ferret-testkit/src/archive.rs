//! Archives for tests, written in memory: zip (stored or deflated members, and raw members
//! with any declared size for hostile fixtures), tar (ustar, GNU long names) and tar.gz.

use std::io::Write as _;

/// A zip archive being written.
#[derive(Default)]
pub struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    count: u16,
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

impl ZipWriter {
    /// An empty archive.
    pub fn new() -> ZipWriter {
        ZipWriter::default()
    }

    /// Adds a member, deflated or stored.
    pub fn add(&mut self, name: impl AsRef<[u8]>, data: &[u8], deflated: bool) -> &mut Self {
        let (body, method) = if deflated { (deflate(data), 8) } else { (data.to_vec(), 0) };
        self.add_raw(name, &body, method, u32::try_from(data.len()).unwrap(), crc32(data))
    }

    /// Adds a member whose compressed bytes, method and declared size are given as they are
    /// (for hostile fixtures: a size that lies, a method not supported).
    pub fn add_raw(
        &mut self,
        name: impl AsRef<[u8]>,
        body: &[u8],
        method: u16,
        declared: u32,
        crc: u32,
    ) -> &mut Self {
        let name = name.as_ref();
        let offset = u32::try_from(self.out.len()).unwrap();
        self.local_and_central(
            name,
            u32::try_from(body.len()).unwrap(),
            method,
            declared,
            crc,
            offset,
        );
        self.out.extend_from_slice(body);
        self
    }

    /// Adds a central-directory record pointing at the data of an earlier member (the
    /// overlapping members of a non-recursive zip bomb).
    pub fn add_alias(
        &mut self,
        name: impl AsRef<[u8]>,
        of_offset: u32,
        csize: u32,
        declared: u32,
    ) -> &mut Self {
        self.central_record(name.as_ref(), csize, 8, declared, 0, of_offset);
        self
    }

    fn local_and_central(
        &mut self,
        name: &[u8],
        csize: u32,
        method: u16,
        usize: u32,
        crc: u32,
        offset: u32,
    ) {
        let o = &mut self.out;
        o.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        o.extend_from_slice(&20u16.to_le_bytes());
        o.extend_from_slice(&0x0800u16.to_le_bytes());
        o.extend_from_slice(&method.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes());
        o.extend_from_slice(&0x21u16.to_le_bytes());
        o.extend_from_slice(&crc.to_le_bytes());
        o.extend_from_slice(&csize.to_le_bytes());
        o.extend_from_slice(&usize.to_le_bytes());
        o.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes());
        o.extend_from_slice(name);
        self.central_record(name, csize, method, usize, crc, offset);
    }

    fn central_record(
        &mut self,
        name: &[u8],
        csize: u32,
        method: u16,
        usize: u32,
        crc: u32,
        offset: u32,
    ) {
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes());
        c.extend_from_slice(&20u16.to_le_bytes());
        c.extend_from_slice(&0x0800u16.to_le_bytes());
        c.extend_from_slice(&method.to_le_bytes());
        c.extend_from_slice(&0u16.to_le_bytes());
        c.extend_from_slice(&0x21u16.to_le_bytes());
        c.extend_from_slice(&crc.to_le_bytes());
        c.extend_from_slice(&csize.to_le_bytes());
        c.extend_from_slice(&usize.to_le_bytes());
        c.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
        c.extend_from_slice(&[0u8; 12]);
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name);
        self.count += 1;
    }

    /// The archive's bytes.
    pub fn finish(&self) -> Vec<u8> {
        let mut o = self.out.clone();
        let cd_off = u32::try_from(o.len()).unwrap();
        o.extend_from_slice(&self.central);
        o.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        o.extend_from_slice(&[0u8; 4]);
        o.extend_from_slice(&self.count.to_le_bytes());
        o.extend_from_slice(&self.count.to_le_bytes());
        o.extend_from_slice(&u32::try_from(self.central.len()).unwrap().to_le_bytes());
        o.extend_from_slice(&cd_off.to_le_bytes());
        o.extend_from_slice(&0u16.to_le_bytes());
        o
    }
}

/// A zip of `members` (name, data), every member deflated.
pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = ZipWriter::new();
    for (name, data) in members {
        z.add(name, data, true);
    }
    z.finish()
}

fn tar_header(name: &[u8], size: usize, flag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = flag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn pad(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(512) {
        out.push(0);
    }
}

/// A tar of `members` (name, data): ustar headers, a GNU long-name header for names over
/// 100 bytes; a name ending in `/` is a directory.
pub fn tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let name = name.as_bytes();
        if name.len() > 100 {
            out.extend_from_slice(&tar_header(b"././@LongLink", name.len() + 1, b'L'));
            out.extend_from_slice(name);
            out.push(0);
            pad(&mut out);
        }
        let dir = name.ends_with(b"/");
        out.extend_from_slice(&tar_header(
            name,
            if dir { 0 } else { data.len() },
            if dir { b'5' } else { b'0' },
        ));
        if !dir {
            out.extend_from_slice(data);
            pad(&mut out);
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
