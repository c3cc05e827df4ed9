//! Reading a whole table from PostgreSQL with `COPY … TO STDOUT (FORMAT binary)`: start-up's
//! path for the merchants, which can be 30 million rows.
//!
//! Through sqlx's `Any` driver every row becomes a vector of tagged values that are then looked
//! up by column name and converted, ≈ 3.7 µs a row (perf: the row conversion and its
//! allocations); 30M rows would take nearly two minutes before the index is even built. The
//! binary COPY stream is a flat sequence of length-prefixed fields in the order the query names
//! them, so reading it is a few bounds checks per field. The format is PostgreSQL's own
//! (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"); no crate reads it
//! for us (sqlx hands over the raw bytes, `postgres-types` would bring a second driver), so it is
//! parsed here, with the column types fixed by casts in the query.

use futures_util::TryStreamExt as _;
use sqlx::postgres::PgConnection;
use sqlx::Connection as _;

use super::rows::{corrupt, corrupt_field};
use super::StorageError;
use crate::domain::{MerchantFields, MerchantRow, PipelineStatus};

/// The merchants' columns with their binary types fixed: text, float8 and int8 only.
const COPY_MERCHANTS: &str = "COPY (SELECT id, name, category, lon::float8, lat::float8, \
     address, footfall_daily::int8, avg_spend_cny::float8, rating::float8, opening_hours, \
     accepts_ecny::int8, competitor_signed, chain, status, status_since::text, owner_org_id, \
     contact_name, contact_phone FROM merchants) TO STDOUT (FORMAT binary)";
const MERCHANT_FIELDS: usize = 18;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Calls `each` with every merchant of the PostgreSQL database at `url`, in no particular
/// order, validated as every load validates them.
pub(crate) async fn for_each_merchant(
    url: &str,
    mut each: impl FnMut(&MerchantFields<'_>),
) -> Result<(), StorageError> {
    let mut conn = PgConnection::connect(url).await?;
    let mut stream = conn.copy_out_raw(COPY_MERCHANTS).await?;
    let mut reader = Reader::default();
    while let Some(chunk) = stream.try_next().await? {
        reader.feed(&chunk, |fields| merchant(fields, &mut each))?;
    }
    reader.finish()?;
    drop(stream);
    conn.close().await?;
    Ok(())
}

fn bad_stream(what: &str) -> StorageError {
    corrupt(
        "merchants",
        "(COPY stream)",
        crate::domain::FieldError::new("stream", what.to_string()),
    )
}

/// Parses the binary COPY stream chunk by chunk (chunks split rows anywhere).
#[derive(Default)]
struct Reader {
    /// Bytes of an unfinished row carried over from the previous chunk.
    pending: Vec<u8>,
    header_done: bool,
    trailer_seen: bool,
}

/// One row's fields, `None` for NULL.
type Fields<'a> = [Option<&'a [u8]>; MERCHANT_FIELDS];

impl Reader {
    fn feed(
        &mut self,
        chunk: &[u8],
        mut row: impl FnMut(&Fields<'_>) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        // Parse straight from the chunk when nothing is pending (the common case), else from
        // the pending bytes with this chunk appended.
        let mut owned = std::mem::take(&mut self.pending);
        let buf: &[u8] = if owned.is_empty() {
            chunk
        } else {
            owned.extend_from_slice(chunk);
            &owned
        };
        let mut at = 0;
        if !self.header_done {
            let Some(len) = header_len(buf)? else {
                self.pending = buf.to_vec();
                return Ok(());
            };
            at = len;
            self.header_done = true;
        }
        let mut fields: Fields<'_> = [None; MERCHANT_FIELDS];
        while at < buf.len() {
            if self.trailer_seen {
                return Err(bad_stream("data after the trailer"));
            }
            match parse_row(&buf[at..], &mut fields)? {
                Parsed::Incomplete => break,
                Parsed::Trailer => {
                    self.trailer_seen = true;
                    at += 2;
                }
                Parsed::Row(used) => {
                    row(&fields)?;
                    at += used;
                }
            }
        }
        let rest = buf[at..].to_vec();
        self.pending = rest;
        Ok(())
    }

    fn finish(&self) -> Result<(), StorageError> {
        if !self.trailer_seen || !self.pending.is_empty() {
            return Err(bad_stream("it ended in the middle of a row"));
        }
        Ok(())
    }
}

/// The header's length once all of it is in `buf`.
fn header_len(buf: &[u8]) -> Result<Option<usize>, StorageError> {
    let fixed = SIGNATURE.len() + 8;
    if buf.len() < fixed {
        return Ok(None);
    }
    if &buf[..SIGNATURE.len()] != SIGNATURE {
        return Err(bad_stream("no binary COPY signature"));
    }
    let ext = u32::from_be_bytes(read4(buf, SIGNATURE.len() + 4)) as usize;
    Ok((buf.len() >= fixed + ext).then_some(fixed + ext))
}

fn read4(buf: &[u8], at: usize) -> [u8; 4] {
    [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]
}

enum Parsed {
    Incomplete,
    Trailer,
    /// A whole row, now in the fields, of this many bytes.
    Row(usize),
}

fn parse_row<'a>(buf: &'a [u8], fields: &mut Fields<'a>) -> Result<Parsed, StorageError> {
    if buf.len() < 2 {
        return Ok(Parsed::Incomplete);
    }
    let count = i16::from_be_bytes([buf[0], buf[1]]);
    if count == -1 {
        return Ok(Parsed::Trailer);
    }
    if count as usize != MERCHANT_FIELDS {
        return Err(bad_stream(&format!(
            "a row of {count} fields, not {MERCHANT_FIELDS}"
        )));
    }
    *fields = [None; MERCHANT_FIELDS];
    let mut at = 2;
    for f in fields.iter_mut() {
        if buf.len() < at + 4 {
            return Ok(Parsed::Incomplete);
        }
        let len = i32::from_be_bytes(read4(buf, at));
        at += 4;
        if len < 0 {
            continue;
        }
        let end = at + len as usize;
        if buf.len() < end {
            return Ok(Parsed::Incomplete);
        }
        *f = Some(&buf[at..end]);
        at = end;
    }
    Ok(Parsed::Row(at))
}

fn text<'a>(
    fields: &Fields<'a>,
    i: usize,
    id: &str,
    name: &str,
) -> Result<Option<&'a str>, StorageError> {
    fields[i]
        .map(std::str::from_utf8)
        .transpose()
        .map_err(|_| corrupt_field("merchants", id, name))
}

/// An 8-byte big-endian field (float8 or int8, as `decode` reads it).
fn be8<T>(
    fields: &Fields<'_>,
    i: usize,
    id: &str,
    name: &str,
    decode: fn([u8; 8]) -> T,
) -> Result<Option<T>, StorageError> {
    fields[i]
        .map(|b| {
            <[u8; 8]>::try_from(b)
                .map(decode)
                .map_err(|_| corrupt_field("merchants", id, name))
        })
        .transpose()
}

fn float8(
    fields: &Fields<'_>,
    i: usize,
    id: &str,
    name: &str,
) -> Result<Option<f64>, StorageError> {
    be8(fields, i, id, name, f64::from_be_bytes)
}

fn int8(fields: &Fields<'_>, i: usize, id: &str, name: &str) -> Result<Option<i64>, StorageError> {
    be8(fields, i, id, name, i64::from_be_bytes)
}

/// One row checked as `rows::merchant` checks it from the `Any` driver, field by field, and
/// handed to `each` borrowed from the stream.
fn merchant(
    f: &Fields<'_>,
    each: &mut impl FnMut(&MerchantFields<'_>),
) -> Result<(), StorageError> {
    let id = text(f, 0, "?", "id")?.ok_or_else(|| corrupt_field("merchants", "?", "id"))?;
    let required = |i: usize, name: &str| -> Result<&str, StorageError> {
        text(f, i, id, name)?.ok_or_else(|| corrupt_field("merchants", id, name))
    };
    let optional = |i: usize, name: &str| text(f, i, id, name);
    let status = required(13, "status")?;
    let row = MerchantRow {
        id,
        name: required(1, "name")?,
        category: required(2, "category")?,
        lon: float8(f, 3, id, "lon")?.ok_or_else(|| corrupt_field("merchants", id, "lon"))?,
        lat: float8(f, 4, id, "lat")?.ok_or_else(|| corrupt_field("merchants", id, "lat"))?,
        address: optional(5, "address")?,
        footfall_daily: int8(f, 6, id, "footfall_daily")?.map(|v| v as f64),
        avg_spend_cny: float8(f, 7, id, "avg_spend_cny")?,
        rating: float8(f, 8, id, "rating")?,
        opening_hours: optional(9, "opening_hours")?,
        accepts_ecny: int8(f, 10, id, "accepts_ecny")?.unwrap_or(0) != 0,
        competitor_signed: optional(11, "competitor_signed")?,
        chain: optional(12, "chain")?,
        status: PipelineStatus::parse(status)
            .ok_or_else(|| corrupt_field("merchants", id, "status"))?,
        status_since: match optional(14, "status_since")? {
            Some(v) => Some(
                v.parse()
                    .map_err(|_| corrupt_field("merchants", id, "status_since"))?,
            ),
            None => None,
        },
        owner_org_id: optional(15, "owner_org_id")?,
        contact_name: optional(16, "contact_name")?,
        contact_phone: optional(17, "contact_phone")?,
    };
    let fields = MerchantFields::checked(row).map_err(|e| corrupt("merchants", id, e))?;
    each(&fields);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of two rows built by hand, fed in every possible split into two chunks.
    #[test]
    fn rows_split_anywhere_parse_the_same() {
        let mut s = SIGNATURE.to_vec();
        s.extend_from_slice(&0u32.to_be_bytes());
        s.extend_from_slice(&4u32.to_be_bytes());
        s.extend_from_slice(b"xxxx"); // a header extension, skipped
        let row = |id: &str, name: Option<&str>| {
            let mut r = (MERCHANT_FIELDS as i16).to_be_bytes().to_vec();
            for i in 0..MERCHANT_FIELDS {
                let v: Option<Vec<u8>> = match i {
                    0 => Some(id.as_bytes().to_vec()),
                    1 => name.map(|n| n.as_bytes().to_vec()),
                    _ => None,
                };
                match v {
                    Some(b) => {
                        r.extend_from_slice(&(b.len() as i32).to_be_bytes());
                        r.extend_from_slice(&b);
                    }
                    None => r.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
            r
        };
        s.extend(row("m1", Some("张公桥甜皮鸭")));
        s.extend(row("m2", None));
        s.extend_from_slice(&(-1i16).to_be_bytes());
        for cut in 0..=s.len() {
            let mut got: Vec<(String, Option<String>)> = Vec::new();
            let mut r = Reader::default();
            for part in [&s[..cut], &s[cut..]] {
                r.feed(part, |f| {
                    let s = |i: usize| f[i].map(|b| String::from_utf8(b.to_vec()).unwrap());
                    got.push((s(0).unwrap(), s(1)));
                    Ok(())
                })
                .unwrap();
            }
            r.finish().unwrap();
            assert_eq!(
                got,
                [
                    ("m1".to_string(), Some("张公桥甜皮鸭".to_string())),
                    ("m2".to_string(), None)
                ],
                "cut at {cut}"
            );
        }
        // Cut short: an error, not a silent partial load.
        let mut r = Reader::default();
        r.feed(&s[..s.len() - 5], |_| Ok(())).unwrap();
        assert!(r.finish().is_err());
    }
}
