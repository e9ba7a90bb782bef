//! Recognises a video container from an upload's first bytes, so a file that only claims to be
//! video (by its `filetype` metadata) is refused before it is stored.
//!
//! Magic numbers: ISO base media files (MP4, MOV, 3GP: ISO/IEC 14496-12) start with a box whose
//! type, at bytes 4..8, is `ftyp`; Matroska and WebM start with the EBML header ID
//! `1A 45 DF A3`; an MPEG transport stream (ISO/IEC 13818-1) is a run of 188-byte packets, each
//! starting with the sync byte `0x47`.

/// How many leading bytes decide: enough to see the sync bytes of three MPEG-TS packets
/// (offsets 0, 188 and 376). A single `0x47` would let any file starting with `G` through.
pub const SNIFF_BYTES: usize = 377;

/// A container recognised by [`sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// MP4, MOV, 3GP and other ISO base media files.
    IsoBmff,
    /// Matroska or WebM.
    Matroska,
    /// MPEG transport stream.
    MpegTs,
}

/// What the bytes seen so far say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniff {
    /// A video container.
    Video(Container),
    /// Not a container this service takes.
    NotVideo,
    /// Too few bytes to tell; more of the upload will.
    NeedMore,
}

const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];
const TS_PACKET: usize = 188;
const TS_SYNC: u8 = 0x47;

/// Judges an upload of `upload_length` bytes by its first bytes, `prefix`. Once `prefix` holds
/// `min(upload_length, SNIFF_BYTES)` bytes the answer is never [`Sniff::NeedMore`].
pub fn sniff(prefix: &[u8], upload_length: u64) -> Sniff {
    let need = usize::try_from(upload_length)
        .unwrap_or(usize::MAX)
        .min(SNIFF_BYTES);
    let complete = prefix.len() >= need;
    if prefix.get(4..8) == Some(b"ftyp".as_slice()) {
        return Sniff::Video(Container::IsoBmff);
    }
    if prefix.get(..4) == Some(EBML_MAGIC.as_slice()) {
        return Sniff::Video(Container::Matroska);
    }
    if prefix.first() == Some(&TS_SYNC) {
        // At least two packets, and every packet start seen so far carries the sync byte.
        if upload_length <= TS_PACKET as u64 {
            return Sniff::NotVideo;
        }
        for at in [TS_PACKET, 2 * TS_PACKET] {
            match prefix.get(at) {
                Some(&TS_SYNC) => {}
                Some(_) => return Sniff::NotVideo,
                None if at < need => return Sniff::NeedMore,
                None => {}
            }
        }
        return Sniff::Video(Container::MpegTs);
    }
    if complete {
        return Sniff::NotVideo;
    }
    // Could the bytes still to come make one of the signatures above?
    let ebml_possible = prefix.len() < 4 && EBML_MAGIC.starts_with(prefix);
    let ftyp_possible = prefix.len() <= 4 || b"ftyp".starts_with(&prefix[4..]);
    if prefix.is_empty() || ebml_possible || ftyp_possible {
        Sniff::NeedMore
    } else {
        Sniff::NotVideo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(packets: usize) -> Vec<u8> {
        let mut bytes = vec![0xFFu8; packets * TS_PACKET];
        for packet in bytes.chunks_mut(TS_PACKET) {
            packet[0] = TS_SYNC;
        }
        bytes
    }

    #[test]
    fn recognises_the_three_containers() {
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0";
        assert_eq!(sniff(mp4, 1000), Sniff::Video(Container::IsoBmff));
        let webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81];
        assert_eq!(sniff(&webm, 1000), Sniff::Video(Container::Matroska));
        assert_eq!(sniff(&ts(3), 10_000), Sniff::Video(Container::MpegTs));
        // A two-packet stream is complete at 376 bytes.
        assert_eq!(sniff(&ts(2), 376), Sniff::Video(Container::MpegTs));
    }

    #[test]
    fn refuses_other_files_as_soon_as_it_can() {
        assert_eq!(sniff(b"%PDF-1.7\n", 1000), Sniff::NotVideo);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n", 1000), Sniff::NotVideo);
        // A text file starting with "G" is not a transport stream.
        let text = "Great lesson notes. ".repeat(20);
        assert_eq!(sniff(text.as_bytes(), 400), Sniff::NotVideo);
        let mut almost = ts(3);
        almost[376] = 0;
        assert_eq!(sniff(&almost, 10_000), Sniff::NotVideo);
        // Too short to be two packets.
        assert_eq!(sniff(&ts(1), 188), Sniff::NotVideo);
        // Everything has arrived and it is nothing known.
        assert_eq!(sniff(b"\0\0\0\x20ft", 6), Sniff::NotVideo);
    }

    #[test]
    fn waits_while_the_signature_may_still_come() {
        assert_eq!(sniff(b"", 1000), Sniff::NeedMore);
        assert_eq!(sniff(b"\0\0", 1000), Sniff::NeedMore);
        assert_eq!(sniff(b"\0\0\0\x20fty", 1000), Sniff::NeedMore);
        assert_eq!(sniff(&[0x1A, 0x45], 1000), Sniff::NeedMore);
        assert_eq!(sniff(&ts(1), 10_000), Sniff::NeedMore);
        assert_eq!(sniff(b"\0\0\0\x20free", 1000), Sniff::NotVideo);
    }
}
