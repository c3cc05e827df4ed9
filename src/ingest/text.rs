//! Character encodings of uploaded files: choosing UTF-8 or GB18030 (what Excel on Chinese
//! Windows writes when it saves "CSV") and decoding bytes without ever guessing silently
//! past a bad byte.

use std::borrow::Cow;

use super::Encoding;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The decoder chosen for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoder {
    Utf8,
    /// GB18030 is a superset of GBK and GB2312, so it reads all three.
    Gb18030,
}

impl Decoder {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Decoder::Utf8 => "UTF-8",
            Decoder::Gb18030 => "GB18030/GBK",
        }
    }

    /// Decodes strictly: `None` when the bytes are not valid in this encoding.
    pub(crate) fn decode(self, bytes: &[u8]) -> Option<Cow<'_, str>> {
        match self {
            Decoder::Utf8 => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
            Decoder::Gb18030 => {
                encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes)
            }
        }
    }
}

/// The chosen decoder, the bytes after any BOM, and whether the choice was a guess.
#[derive(Debug)]
pub(crate) struct Choice<'a> {
    pub decoder: Decoder,
    pub body: &'a [u8],
    pub detected: bool,
}

/// Chooses how to decode a file. Auto: a UTF-8 BOM means UTF-8; bytes that are valid UTF-8
/// are UTF-8; bytes that are *mostly* UTF-8 (at least ten well-formed non-ASCII characters per
/// malformed sequence) are UTF-8 with a few damaged bytes, reported by row, rather than being
/// decoded as GB18030 into plausible-looking nonsense; anything else is GB18030.
///
/// Errors are for files that cannot be text we read at all (UTF-16) or that contradict the
/// caller (a UTF-8 BOM when GBK was asked for).
pub(crate) fn choose(encoding: Encoding, bytes: &[u8]) -> Result<Choice<'_>, String> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(
            "the file is UTF-16 (Excel's \"Unicode text\"); save it as \"CSV UTF-8\" \
                    or plain CSV instead"
                .into(),
        );
    }
    let bom = bytes.starts_with(UTF8_BOM);
    let after_bom = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    match encoding {
        Encoding::Utf8 => Ok(Choice {
            decoder: Decoder::Utf8,
            body: after_bom,
            detected: false,
        }),
        Encoding::Gbk if bom => Err(
            "the file starts with a UTF-8 byte-order mark but encoding gbk was chosen; \
             use encoding utf8 or auto"
                .into(),
        ),
        Encoding::Gbk => Ok(Choice {
            decoder: Decoder::Gb18030,
            body: bytes,
            detected: false,
        }),
        Encoding::Auto => {
            let decoder = if bom || looks_like_utf8(bytes) {
                Decoder::Utf8
            } else {
                Decoder::Gb18030
            };
            Ok(Choice {
                decoder,
                body: after_bom,
                detected: true,
            })
        }
    }
}

fn looks_like_utf8(bytes: &[u8]) -> bool {
    if std::str::from_utf8(bytes).is_ok() {
        return true;
    }
    let (mut good, mut bad) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        good += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        if !chunk.invalid().is_empty() {
            bad += 1;
        }
    }
    good > 0 && good >= bad.saturating_mul(10)
}

/// The 1-based line of the first byte that `decoder` cannot decode, for whole-file formats
/// (GeoJSON) where there is no row to name.
pub(crate) fn first_bad_line(decoder: Decoder, bytes: &[u8]) -> Option<usize> {
    let bad_at = match decoder {
        Decoder::Utf8 => std::str::from_utf8(bytes).err()?.valid_up_to(),
        Decoder::Gb18030 => {
            // encoding_rs reports how far it read before a malformed sequence.
            let mut dec = encoding_rs::GB18030.new_decoder_without_bom_handling();
            let capacity = dec.max_utf8_buffer_length_without_replacement(bytes.len())?;
            let mut out = String::with_capacity(capacity);
            let (result, read) = dec.decode_to_string_without_replacement(bytes, &mut out, true);
            match result {
                // (length of the bad sequence, bytes consumed after it)
                encoding_rs::DecoderResult::Malformed(len, after) => {
                    read.saturating_sub(usize::from(len) + usize::from(after))
                }
                _ => return None,
            }
        }
    };
    let before = bytes.get(..bad_at).unwrap_or(bytes);
    Some(before.iter().filter(|&&b| b == b'\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn auto_picks_utf8_for_utf8_and_strips_the_bom() {
        let bytes = "\u{feff}名称\n张公桥甜皮鸭\n".as_bytes();
        let c = choose(Encoding::Auto, bytes).unwrap();
        assert_eq!(c.decoder, Decoder::Utf8);
        assert!(c.body.starts_with("名称".as_bytes()));
    }

    #[test]
    fn auto_picks_gb18030_for_gbk_bytes() {
        let bytes = gbk("名称,类别\n张公桥甜皮鸭,餐饮\n");
        let c = choose(Encoding::Auto, &bytes).unwrap();
        assert_eq!(c.decoder, Decoder::Gb18030);
        assert_eq!(
            c.decoder.decode(c.body).unwrap(),
            "名称,类别\n张公桥甜皮鸭,餐饮\n"
        );
    }

    #[test]
    fn auto_keeps_utf8_when_one_byte_is_damaged() {
        let mut bytes = "名称\n张公桥甜皮鸭\n乐山钵钵鸡\n".as_bytes().to_vec();
        bytes.extend_from_slice(b"\xFF\n");
        let c = choose(Encoding::Auto, &bytes).unwrap();
        assert_eq!(c.decoder, Decoder::Utf8);
        assert_eq!(first_bad_line(c.decoder, c.body), Some(4));
    }

    #[test]
    fn utf16_and_contradicting_bom_are_refused() {
        assert!(choose(Encoding::Auto, b"\xFF\xFEa\x00").is_err());
        assert!(choose(Encoding::Gbk, b"\xEF\xBB\xBFname").is_err());
    }

    #[test]
    fn malformed_gb18030_is_not_decoded_and_its_line_is_found() {
        let mut bytes = gbk("名称\n");
        bytes.extend_from_slice(b"ok\n\x81\x20bad\n");
        assert!(Decoder::Gb18030.decode(&bytes).is_none());
        assert_eq!(first_bad_line(Decoder::Gb18030, &bytes), Some(3));
    }
}
