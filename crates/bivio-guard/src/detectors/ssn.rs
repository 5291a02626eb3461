//! US Social Security numbers in their printed form, `AAA-GG-SSSS` (dashes or spaces): area not 000, 666 or
//! 9xx, group not 00, serial not 0000, and not one of the numbers famous for being published.

use super::numeric::{NumericSpan, Sep};

const PUBLISHED: [&[u8]; 3] = [b"123456789", b"078051120", b"219099999"];

pub(crate) fn check(span: &NumericSpan) -> bool {
    if span.overflow || span.plus || span.n_groups != 3 || span.n_digits != 9 {
        return false;
    }
    if !matches!(span.uniform_sep(), Some(Sep::Dash | Sep::Space)) {
        return false;
    }
    if span.group_len(0) != 3 || span.group_len(1) != 2 || span.group_len(2) != 4 {
        return false;
    }
    let d = span.digits();
    let area = &d[..3];
    let valid = area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000";
    valid && !PUBLISHED.contains(&d)
}
