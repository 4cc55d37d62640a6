//! Compressed responses (`Content-Encoding: gzip`, `deflate`, `br`), decoded as they arrive so
//! each piece of text keeps the arrival time of the bytes that carried it.
//!
//! A gateway may compress on its own, and a user may ask for it (`-H Accept-Encoding: gzip`);
//! either way the collector sees the text the server generated.

use std::io::Write;

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

/// An incremental decoder for one response body.
pub(crate) enum Decoder {
    Gzip(GzDecoder<Vec<u8>>),
    /// `deflate`: zlib-wrapped, as the standard says, or raw, as some servers send it; told
    /// apart by the first two bytes (held in `head` until both arrived).
    Deflate {
        head: Vec<u8>,
        kind: Option<DeflateKind>,
    },
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
}

pub(crate) enum DeflateKind {
    Zlib(ZlibDecoder<Vec<u8>>),
    Raw(DeflateDecoder<Vec<u8>>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Gzip(_) => "Decoder::Gzip",
            Self::Deflate { .. } => "Decoder::Deflate",
            Self::Brotli(_) => "Decoder::Brotli",
        })
    }
}

impl Decoder {
    /// The decoder for a `Content-Encoding` value: `Ok(None)` for none or `identity`, an
    /// error naming an encoding this client cannot decode.
    pub(crate) fn for_encoding(value: Option<&http::HeaderValue>) -> Result<Option<Self>, String> {
        let Some(value) = value else { return Ok(None) };
        let text = value.to_str().unwrap_or("?").trim().to_ascii_lowercase();
        Ok(Some(match text.as_str() {
            "" | "identity" => return Ok(None),
            "gzip" | "x-gzip" => Self::Gzip(GzDecoder::new(Vec::new())),
            "deflate" => Self::Deflate {
                head: Vec::new(),
                kind: None,
            },
            "br" => Self::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                Vec::new(),
                4096,
            ))),
            other => {
                return Err(format!(
                    "the response is encoded with Content-Encoding {other:?}, which aiperf cannot \
                     decode (gzip, deflate and br are supported); drop the Accept-Encoding header \
                     or turn compression off at the gateway"
                ));
            }
        }))
    }

    /// Decodes `data`, appending the text to `out`.
    pub(crate) fn feed(&mut self, data: &[u8], out: &mut bytes::BytesMut) -> std::io::Result<()> {
        let sink = match self {
            Self::Gzip(d) => {
                d.write_all(data)?;
                // The writers hand their output on at the next write; flushing hands it on now.
                d.flush()?;
                d.get_mut()
            }
            Self::Deflate { head, kind } => {
                let data: std::borrow::Cow<'_, [u8]> = if kind.is_none() {
                    head.extend_from_slice(data);
                    if head.len() < 2 {
                        return Ok(());
                    }
                    *kind = Some(deflate_kind(head));
                    std::mem::take(head).into()
                } else {
                    data.into()
                };
                let data = &*data;
                match kind.as_mut().expect("decided above") {
                    DeflateKind::Zlib(d) => {
                        d.write_all(data)?;
                        d.flush()?;
                        d.get_mut()
                    }
                    DeflateKind::Raw(d) => {
                        d.write_all(data)?;
                        d.flush()?;
                        d.get_mut()
                    }
                }
            }
            Self::Brotli(d) => {
                d.write_all(data)?;
                d.flush()?;
                d.get_mut()
            }
        };
        out.extend_from_slice(sink);
        sink.clear();
        Ok(())
    }

    /// Ends the body: whatever the decoder still held, and an error if the body was cut short.
    pub(crate) fn finish(self, out: &mut bytes::BytesMut) -> std::io::Result<()> {
        let rest = match self {
            Self::Gzip(d) => d.finish()?,
            Self::Deflate { head, kind: None } => {
                if !head.is_empty() {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "deflate stream cut short",
                    ));
                }
                Vec::new()
            }
            Self::Deflate {
                kind: Some(DeflateKind::Zlib(d)),
                ..
            } => d.finish()?,
            Self::Deflate {
                kind: Some(DeflateKind::Raw(d)),
                ..
            } => d.finish()?,
            Self::Brotli(mut d) => {
                d.close()?;
                d.into_inner().unwrap_or_else(|v| v)
            }
        };
        out.extend_from_slice(&rest);
        Ok(())
    }
}

/// A zlib stream starts with a two-byte header whose compression method is 8 and whose value
/// is a multiple of 31 (RFC 1950); anything else is raw deflate.
fn deflate_kind(first: &[u8]) -> DeflateKind {
    match first {
        [cmf, flg, ..] if cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 => {
            DeflateKind::Zlib(ZlibDecoder::new(Vec::new()))
        }
        _ => DeflateKind::Raw(DeflateDecoder::new(Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;

    fn decode(encoding: &str, body: &[u8], split: usize) -> std::io::Result<String> {
        let value = http::HeaderValue::from_str(encoding).unwrap();
        let mut d = Decoder::for_encoding(Some(&value)).unwrap().unwrap();
        let mut out = bytes::BytesMut::new();
        for piece in body.chunks(split.max(1)) {
            d.feed(piece, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(String::from_utf8(out.to_vec()).unwrap())
    }

    const TEXT: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"héllo 世界\"}}]}\n\n";

    #[test]
    fn gzip_and_deflate_decode_in_any_pieces() {
        let text = TEXT.repeat(50);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        zlib.write_all(text.as_bytes()).unwrap();
        let zlib = zlib.finish().unwrap();
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(text.as_bytes()).unwrap();
        let raw = raw.finish().unwrap();
        for split in [1, 7, 100, 100_000] {
            assert_eq!(decode("gzip", &gz, split).unwrap(), text);
            assert_eq!(decode("x-gzip", &gz, split).unwrap(), text);
            assert_eq!(decode("deflate", &zlib, split).unwrap(), text);
            assert_eq!(decode("deflate", &raw, split).unwrap(), text);
        }
        // Cut short: an error, not silently less text.
        assert!(decode("gzip", &gz[..gz.len() - 10], 100).is_err());
    }

    #[test]
    fn brotli_decodes() {
        // Python: `brotli.compress(b'data: {"text": "hello brotli"}\n\n' * 30)`.
        let br: &[u8] = &[
            0x1b, 0xbf, 0x03, 0x80, 0x9c, 0x07, 0xb6, 0x5b, 0xb4, 0x8d, 0x91, 0x0b, 0x85, 0x5e,
            0xeb, 0xf8, 0x5a, 0x01, 0x44, 0x4c, 0x4e, 0x8b, 0xe8, 0xd0, 0xed, 0x2d, 0x9d, 0xbe,
            0x16, 0x49, 0x63, 0x7b, 0xd3, 0x82, 0x88, 0x32, 0x4a, 0x81, 0x32, 0x53, 0x29, 0x11,
            0xf3, 0x20, 0xe8, 0x6f, 0xa3, 0xb5, 0x5f, 0x0a, 0x0e,
        ];
        let text = "data: {\"text\": \"hello brotli\"}\n\n".repeat(30);
        for split in [1, 5, 1000] {
            assert_eq!(decode("br", br, split).unwrap(), text);
        }
    }

    #[test]
    fn identity_passes_and_unknown_encodings_are_named() {
        assert!(Decoder::for_encoding(None).unwrap().is_none());
        let identity = http::HeaderValue::from_static("identity");
        assert!(Decoder::for_encoding(Some(&identity)).unwrap().is_none());
        let zstd = http::HeaderValue::from_static("zstd");
        let e = Decoder::for_encoding(Some(&zstd)).unwrap_err();
        assert!(e.contains("\"zstd\""), "{e}");
    }
}
