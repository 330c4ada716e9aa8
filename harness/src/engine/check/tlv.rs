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
        let parent = find_path(data, parent)?;
        let children = tlv::parse_all(parent, 0).map_err(|e| format!("does not parse: {e}"))?;
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
