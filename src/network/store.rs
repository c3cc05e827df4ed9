//! The stored form of a network: one blob for a database column or a file.
//!
//! Little-endian: the magic `ECOMAPNW`, format version (u32), vertex, edge and geometry point
//! counts (u32 each); the vertices as `(lon, lat)` in 1e-7° (i32 each); the edges as `a`, `b`,
//! length in decimetres (u32 each) and flags (u8: bit 0 one-way); the geometry offsets (one u32
//! per edge, the end of its points); the geometry points as the vertices; then the first 8
//! bytes of the SHA-256 of everything before. 8 bytes a point and 17 an edge: the
//! Liechtenstein network is 0.32 MB. The adjacency, the components and the snapping index
//! are rebuilt on load ([`StreetNetwork::from_bytes`]; timed in `benches/network.rs`).

use sha2::{Digest, Sha256};

use super::graph::{Edge, StreetNetwork};
use super::NetworkError;

const MAGIC: &[u8; 8] = b"ECOMAPNW";
const VERSION: u32 = 1;

fn e7(v: f64) -> i32 {
    // Coordinates are already rounded to 1e-7° and within ±180°, so this is exact.
    (v * 1e7).round() as i32
}

impl StreetNetwork {
    /// The network as one blob; [`StreetNetwork::from_bytes`] gives it back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            32 + self.coords.len() * 8 + self.edges.len() * 17 + self.shape.len() * 8,
        );
        out.extend_from_slice(MAGIC);
        for v in [
            VERSION,
            self.coords.len() as u32,
            self.edges.len() as u32,
            self.shape.len() as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for p in &self.coords {
            out.extend_from_slice(&e7(p[0]).to_le_bytes());
            out.extend_from_slice(&e7(p[1]).to_le_bytes());
        }
        for e in &self.edges {
            out.extend_from_slice(&e.a.to_le_bytes());
            out.extend_from_slice(&e.b.to_le_bytes());
            out.extend_from_slice(&e.len_dm.to_le_bytes());
            out.push(u8::from(e.oneway));
        }
        for s in &self.shape_start[1..] {
            out.extend_from_slice(&s.to_le_bytes());
        }
        for p in &self.shape {
            out.extend_from_slice(&e7(p[0]).to_le_bytes());
            out.extend_from_slice(&e7(p[1]).to_le_bytes());
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest[..8]);
        out
    }

    /// A network from the blob of [`StreetNetwork::to_bytes`], checked (checksum, counts,
    /// vertex numbers, coordinates) before it is trusted.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, NetworkError> {
        let corrupt = |why: &str| NetworkError::Corrupt(why.to_string());
        if bytes.len() < 8 + 16 + 8 {
            return Err(corrupt("too short"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if &Sha256::digest(body)[..8] != sum {
            return Err(corrupt("checksum mismatch"));
        }
        if &body[..8] != MAGIC {
            return Err(corrupt("not an ecomap street network"));
        }
        let mut r = Reader { buf: body, at: 8 };
        let version = r.u32()?;
        if version != VERSION {
            return Err(NetworkError::Corrupt(format!(
                "format version {version}, this build reads {VERSION}"
            )));
        }
        let n = r.u32()? as usize;
        let m = r.u32()? as usize;
        let k = r.u32()? as usize;
        let need = (n as u64) * 8 + (m as u64) * 17 + (k as u64) * 8;
        if (body.len() - r.at) as u64 != need {
            return Err(corrupt("length does not match the counts"));
        }
        let mut coords = Vec::with_capacity(n);
        for _ in 0..n {
            coords.push(r.point()?);
        }
        let mut edges = Vec::with_capacity(m);
        for _ in 0..m {
            let a = r.u32()?;
            let b = r.u32()?;
            let len_dm = r.u32()?;
            let flags = r.u8()?;
            if a as usize >= n || b as usize >= n || flags > 1 {
                return Err(corrupt("an edge names a missing vertex"));
            }
            edges.push(Edge {
                a,
                b,
                len_dm,
                oneway: flags == 1,
            });
        }
        let mut shape_start = Vec::with_capacity(m + 1);
        shape_start.push(0u32);
        for _ in 0..m {
            let s = r.u32()?;
            if s < *shape_start.last().unwrap_or(&0) || s as usize > k {
                return Err(corrupt("geometry offsets out of order"));
            }
            shape_start.push(s);
        }
        if *shape_start.last().unwrap_or(&0) as usize != k {
            return Err(corrupt("geometry offsets do not cover the points"));
        }
        let mut shape = Vec::with_capacity(k);
        for _ in 0..k {
            shape.push(r.point()?);
        }
        Ok(Self::assemble(coords, edges, shape_start, shape))
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], NetworkError> {
        let s = self
            .buf
            .get(self.at..self.at + N)
            .ok_or_else(|| NetworkError::Corrupt("truncated".into()))?;
        self.at += N;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, NetworkError> {
        Ok(self.take::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, NetworkError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    fn point(&mut self) -> Result<[f64; 2], NetworkError> {
        let lon = i32::from_le_bytes(self.take()?) as f64 / 1e7;
        let lat = i32::from_le_bytes(self.take()?) as f64 / 1e7;
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(NetworkError::Corrupt("a coordinate is out of range".into()));
        }
        Ok([lon, lat])
    }
}
