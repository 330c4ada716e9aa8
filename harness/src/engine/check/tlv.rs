//! BER-TLV checks: the data parses along a tag path, and the object found there has the
//! expected text, bytes, length or UTF-8 validity — or a tag is absent.

use mynasim_simulator::apdu::tlv::{self, Tag, Tlv};
use mynasim_simulator::hex;

use super::{shorten, validity};
use crate::scenario::plan::{Captures, TlvCheck};

/// Checks one TLV expectation; the error says what did not hold.
///
/// # Errors
/// The first thing that does not hold.
pub fn check(t: &TlvCheck, data: &[u8], captures: &Captures) -> Result<(), String> {
    let data = data.get(t.skip..).unwrap_or_default();
    if !t.present {
        let (parent, last) = t.path.split_at(t.path.len().saturating_sub(1));
        // The objects the last tag would be among: the data's top level for a one-tag path,
        // else the children of the parent path.
        let haystack = if parent.is_empty() {
            data
        } else {
            find_path(data, parent)?
        };
        let children = tlv::parse_all(haystack, 0).map_err(|e| format!("does not parse: {e}"))?;
        if let Some(&tag) = last.first()
            && children.iter().any(|c| c.tag == Tag(tag))
        {
            return Err(format!("expected no {tag:X}, but it is there"));
        }
        return Ok(());
    }
    let object = match (find_path(data, &t.path), t.parses) {
        (Ok(o), true) => o,
        (Ok(_), false) => return Err("expected the TLV not to parse, but it does".to_owned()),
        (Err(_), false) => return Ok(()),
        (Err(e), true) => return Err(e),
    };
    if let Some(text) = &t.text {
        let want = text.render(captures);
        if object != want.as_slice() {
            return Err(format!(
                "expected {:?}, got {:?}",
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(object)
            ));
        }
    }
    if let Some(bytes) = &t.hex
        && object != bytes.as_slice()
    {
        return Err(format!(
            "expected {}, got {}",
            hex::spaced(bytes),
            shorten(object)
        ));
    }
    if let Some(n) = t.length
        && object.len() != n
    {
        return Err(format!("expected {n} bytes, got {}", object.len()));
    }
    if let Some(want_valid) = t.utf8_valid {
        let valid = std::str::from_utf8(object).is_ok();
        if valid != want_valid {
            return Err(format!("expected {} UTF-8", validity(want_valid)));
        }
    }
    Ok(())
}

/// Follows a tag path; an empty path is the outermost object. Every level must parse.
fn find_path<'a>(data: &'a [u8], path: &[u32]) -> Result<&'a [u8], String> {
    let (outer, _) = Tlv::parse(data).map_err(|e| format!("does not parse: {e}"))?;
    let Some((&first, rest)) = path.split_first() else {
        return Ok(outer.value);
    };
    if outer.tag != Tag(first) {
        return Err(format!("outermost tag is {}, not {first:X}", outer.tag));
    }
    let mut current = outer;
    for &tag in rest {
        let children = current
            .children()
            .map_err(|e| format!("children of {} do not parse: {e}", current.tag))?;
        current = children
            .into_iter()
            .find(|c| c.tag == Tag(tag))
            .ok_or_else(|| format!("no {tag:X} inside {}", current.tag))?;
    }
    Ok(current.value)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::super::tests::{captures, fixture};
    use super::*;
    use crate::scenario::plan::{CaptureRef, Template, TextPart};

    /// A check of the object at `path` with nothing else asked.
    fn at(path: &[u32]) -> TlvCheck {
        TlvCheck {
            skip: 0,
            parses: true,
            path: path.to_vec(),
            text: None,
            present: true,
            hex: None,
            length: None,
            utf8_valid: None,
        }
    }

    fn text(s: &str) -> Option<Template> {
        Some(Template(vec![TextPart::Text(s.to_owned())]))
    }

    /// Input-support EF 0002 of the default profile: `FF 20 82 00 71 { DF21 08 …, DF22 0F <name>,
    /// DF23 42 <address>, DF24 08 "19850412", DF25 01 "2" }`.
    fn ef0002() -> &'static [u8] {
        &fixture().attributes
    }

    fn run(t: &TlvCheck, data: &[u8]) -> Result<(), String> {
        check(t, data, &captures())
    }

    const NAME: [u32; 2] = [0xFF20, 0xDF22];
    const ADDRESS: [u32; 2] = [0xFF20, 0xDF23];
    const BIRTH: [u32; 2] = [0xFF20, 0xDF24];
    const SEX: [u32; 2] = [0xFF20, 0xDF25];

    #[test]
    fn text_is_compared_with_the_object_found() {
        let data = ef0002();
        assert_eq!(&data[..5], [0xFF, 0x20, 0x82, 0x00, 0x71]);
        let t = |path: &[u32], s: &str| TlvCheck {
            text: text(s),
            ..at(path)
        };
        assert_eq!(run(&t(&NAME, "試験　花子"), data), Ok(()));
        assert_eq!(run(&t(&BIRTH, "19850412"), data), Ok(()));
        assert_eq!(
            run(&t(&NAME, "試験"), data),
            Err("expected \"試験\", got \"試験\\u{3000}花子\"".to_owned())
        );
        assert_eq!(
            run(&t(&SEX, "1"), data),
            Err("expected \"1\", got \"2\"".to_owned())
        );
        // Captures are substituted: here the name's bytes cut from the EF 0002 capture.
        let from_capture = |range| TlvCheck {
            text: Some(Template(vec![TextPart::Capture(CaptureRef {
                name: "ef0002".to_owned(),
                range: Some(range),
            })])),
            ..at(&NAME)
        };
        assert_eq!(run(&from_capture((19, 34)), data), Ok(()));
        assert_eq!(
            run(&from_capture((19, 25)), data),
            Err("expected \"試験\", got \"試験\\u{3000}花子\"".to_owned())
        );
    }

    #[test]
    fn hex_is_compared_with_the_object_found() {
        let data = ef0002();
        let h = |path: &[u32], bytes: &[u8]| TlvCheck {
            hex: Some(bytes.to_vec()),
            ..at(path)
        };
        assert_eq!(run(&h(&SEX, b"2"), data), Ok(()));
        assert_eq!(
            run(&h(&SEX, b"1"), data),
            Err("expected 31, got 32".to_owned())
        );
        assert_eq!(
            run(&h(&SEX, b"22"), data),
            Err("expected 32 32, got 32".to_owned())
        );
        let address = &data[37..103];
        assert_eq!(run(&h(&ADDRESS, address), data), Ok(()));
        assert_eq!(
            run(&h(&ADDRESS, &[0x00]), data),
            Err(format!("expected 00, got {}", shorten(address)))
        );
        assert!(shorten(address).ends_with(" … (66 bytes)"));
    }

    #[test]
    fn length_is_the_objects_length() {
        let data = ef0002();
        let l = |path: &[u32], n: usize| TlvCheck {
            length: Some(n),
            ..at(path)
        };
        assert_eq!(run(&l(&BIRTH, 8), data), Ok(()));
        assert_eq!(
            run(&l(&BIRTH, 9), data),
            Err("expected 9 bytes, got 8".to_owned())
        );
        assert_eq!(
            run(&l(&BIRTH, 7), data),
            Err("expected 7 bytes, got 8".to_owned())
        );
        // An empty path is the outermost object.
        assert_eq!(run(&l(&[], 0x71), data), Ok(()));
        assert_eq!(run(&l(&[0xFF20], 0x71), data), Ok(()));
        assert_eq!(
            run(&l(&[], 0x74), data),
            Err("expected 116 bytes, got 113".to_owned())
        );
    }

    #[test]
    fn utf8_validity_is_checked_both_ways() {
        let u = |path: &[u32], valid: bool| TlvCheck {
            utf8_valid: Some(valid),
            ..at(path)
        };
        let data = ef0002();
        assert_eq!(run(&u(&NAME, true), data), Ok(()));
        assert_eq!(
            run(&u(&NAME, false), data),
            Err("expected invalid UTF-8".to_owned())
        );
        // A name whose first byte is FF, which is never UTF-8.
        let damaged = [0xFF, 0x20, 0x05, 0xDF, 0x22, 0x02, 0xFF, 0x41];
        assert_eq!(run(&u(&NAME, false), &damaged), Ok(()));
        assert_eq!(
            run(&u(&NAME, true), &damaged),
            Err("expected valid UTF-8".to_owned())
        );
    }

    #[test]
    fn the_first_value_check_that_fails_is_the_error() {
        let data = ef0002();
        let all = |good: [bool; 4]| TlvCheck {
            text: text(if good[0] { "2" } else { "1" }),
            hex: Some(if good[1] {
                b"2".to_vec()
            } else {
                b"3".to_vec()
            }),
            length: Some(if good[2] { 1 } else { 2 }),
            utf8_valid: Some(good[3]),
            ..at(&SEX)
        };
        assert_eq!(run(&all([true; 4]), data), Ok(()));
        assert_eq!(
            run(&all([false; 4]), data),
            Err("expected \"1\", got \"2\"".to_owned())
        );
        assert_eq!(
            run(&all([true, false, false, false]), data),
            Err("expected 33, got 32".to_owned())
        );
        assert_eq!(
            run(&all([true, true, false, false]), data),
            Err("expected 2 bytes, got 1".to_owned())
        );
        assert_eq!(
            run(&all([true, true, true, false]), data),
            Err("expected invalid UTF-8".to_owned())
        );
    }

    #[test]
    fn paths_must_be_found() {
        let data = ef0002();
        assert_eq!(
            run(&at(&[0xFF20, 0xDF29]), data),
            Err("no DF29 inside FF20".to_owned())
        );
        assert_eq!(
            run(&at(&[0xFF21, 0xDF22]), data),
            Err("outermost tag is FF20, not FF21".to_owned())
        );
        assert_eq!(
            run(&at(&[0xDF22]), data),
            Err("outermost tag is FF20, not DF22".to_owned())
        );
        // "19850412" is no TLV: 31 39 … claims 57 bytes.
        assert_eq!(
            run(&at(&[0xFF20, 0xDF24, 0x31]), data),
            Err(
                "children of DF24 do not parse: truncated TLV at offset 3: needs 59 bytes, 8 left"
                    .to_owned()
            )
        );
        assert_eq!(
            run(&at(&[]), &[]),
            Err("does not parse: truncated TLV at offset 0: needs 2 bytes, 0 left".to_owned())
        );
        assert_eq!(
            run(&at(&[0xFF20]), &data[..100]),
            Err("does not parse: truncated TLV at offset 0: needs 118 bytes, 100 left".to_owned())
        );
        // A path into a three-level structure (input-support EF 0007: FF50 / DF51 / 91).
        let key = TlvCheck {
            length: Some(256),
            ..at(&[0xFF50, 0xDF51, 0x91])
        };
        assert_eq!(run(&key, &fixture().signed_key), Ok(()));
    }

    #[test]
    fn parses_false_passes_only_when_the_path_is_not_there() {
        let data = ef0002();
        let not = |path: &[u32]| TlvCheck {
            parses: false,
            ..at(path)
        };
        assert_eq!(run(&not(&[0xFF20, 0xDF29]), data), Ok(()));
        assert_eq!(run(&not(&[0xFF21]), data), Ok(()));
        assert_eq!(run(&not(&[]), &data[..100]), Ok(()));
        assert_eq!(
            run(&not(&NAME), data),
            Err("expected the TLV not to parse, but it does".to_owned())
        );
        assert_eq!(
            run(&not(&[]), data),
            Err("expected the TLV not to parse, but it does".to_owned())
        );
        // Value checks do not apply to what must not parse.
        let with_text = TlvCheck {
            text: text("x"),
            length: Some(99),
            ..not(&[0xFF20, 0xDF29])
        };
        assert_eq!(run(&with_text, data), Ok(()));
    }

    #[test]
    fn skip_drops_leading_bytes() {
        // A 2023 card's EF 0002 with two bytes before FF 20.
        let mut data = vec![0x00, 0x00];
        data.extend_from_slice(ef0002());
        let sex = |skip: usize| TlvCheck {
            skip,
            text: text("2"),
            ..at(&SEX)
        };
        assert_eq!(run(&sex(2), &data), Ok(()));
        assert_eq!(
            run(&sex(0), &data),
            Err("outermost tag is 00, not FF20".to_owned())
        );
        assert_eq!(
            run(&sex(1), &data),
            Err("does not parse: unsupported length byte FF at offset 1".to_owned())
        );
        assert_eq!(
            run(&sex(data.len() + 5), &data),
            Err("does not parse: truncated TLV at offset 0: needs 2 bytes, 0 left".to_owned())
        );
        let absent = TlvCheck {
            skip: 2,
            present: false,
            ..at(&[0xFF20, 0xDF26])
        };
        assert_eq!(run(&absent, &data), Ok(()));
        assert_eq!(
            run(&TlvCheck { skip: 0, ..absent }, &data),
            Err("outermost tag is 00, not FF20".to_owned())
        );
    }

    #[test]
    fn present_false_needs_the_last_tag_absent_and_the_rest_there() {
        let data = ef0002();
        let absent = |path: &[u32]| TlvCheck {
            present: false,
            ..at(path)
        };
        assert_eq!(run(&absent(&[0xFF20, 0xDF26]), data), Ok(()));
        for (tag, path) in [(0xDF22, NAME), (0xDF25, SEX), (0xDF21, [0xFF20, 0xDF21])] {
            assert_eq!(
                run(&absent(&path), data),
                Err(format!("expected no {tag:X}, but it is there"))
            );
        }
        // A one-tag path looks at the data's top level.
        assert_eq!(
            run(&absent(&[0xFF20]), data),
            Err("expected no FF20, but it is there".to_owned())
        );
        assert_eq!(run(&absent(&[0xFF21]), data), Ok(()));
        assert_eq!(run(&absent(&[0xDF22]), data), Ok(()));
        // EF 0001: FF 10 0C <digits> and FF filler.
        assert_eq!(
            run(&absent(&[0xFF10]), &fixture().my_number),
            Err("expected no FF10, but it is there".to_owned())
        );
        // Only the last tag may be missing, and everything must parse.
        assert_eq!(
            run(&absent(&[0xFF20, 0xDF29, 0xDF22]), data),
            Err("no DF29 inside FF20".to_owned())
        );
        assert_eq!(
            run(&absent(&[0xFF21, 0xDF22]), data),
            Err("outermost tag is FF20, not FF21".to_owned())
        );
        assert_eq!(
            run(&absent(&[0xFF20, 0xDF24, 0x31]), data),
            Err("does not parse: truncated TLV at offset 0: needs 59 bytes, 8 left".to_owned())
        );
        assert_eq!(
            run(&absent(&SEX), &data[..100]),
            Err("does not parse: truncated TLV at offset 0: needs 118 bytes, 100 left".to_owned())
        );
        // A field left out (the missing-tag damage): FF 20 { DF22 } without DF25.
        let missing = [0xFF, 0x20, 0x04, 0xDF, 0x22, 0x01, 0x41];
        assert_eq!(run(&absent(&SEX), &missing), Ok(()));
        assert_eq!(
            run(&absent(&NAME), &missing),
            Err("expected no DF22, but it is there".to_owned())
        );
        // Value checks and `parses` do not apply.
        let with_values = TlvCheck {
            parses: false,
            text: text("x"),
            utf8_valid: Some(false),
            ..absent(&SEX)
        };
        assert_eq!(run(&with_values, &missing), Ok(()));
    }
}
