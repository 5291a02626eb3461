//! The check-digit algorithms that keep the numeric detectors' false positives low: a random digit string of
//! the right shape passes Luhn or the partita IVA check one time in ten, IBAN's mod-97 one in 97, the codice
//! fiscale's check letter one in 26. All take ASCII input already shaped by the caller and never panic.

/// Luhn (payment cards): digits only.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d.wrapping_sub(b'0'));
        if v > 9 {
            return false;
        }
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// IBAN mod-97 (ISO 13616): `iban` is the compact upper-case form. Moves the first four characters to the
/// end, maps letters to 10..35 and checks the remainder is 1, without big integers.
pub fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 5 {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in iban[4..].iter().chain(&iban[..4]) {
        match c {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        }
    }
    rem == 1
}

/// Italian partita IVA: 11 digits, the last a Luhn-like check over the first ten.
pub fn partita_iva(digits: &[u8]) -> bool {
    if digits.len() != 11 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    // All zeros passes the arithmetic but is never issued.
    if digits.iter().all(|&d| d == b'0') {
        return false;
    }
    let mut sum = 0u32;
    for (i, &d) in digits[..10].iter().enumerate() {
        let v = u32::from(d - b'0');
        if i % 2 == 0 {
            sum += v;
        } else {
            let doubled = v * 2;
            sum += if doubled > 9 { doubled - 9 } else { doubled };
        }
    }
    (10 - sum % 10) % 10 == u32::from(digits[10] - b'0')
}

/// The check character of a codice fiscale's first 15 characters (upper-case), or `None` when they contain
/// something else than letters and digits.
pub fn codice_fiscale_check(first15: &[u8]) -> Option<u8> {
    // Values of characters in odd (1st, 3rd, …) positions; digits map like the letter with the same index.
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    if first15.len() != 15 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &c) in first15.iter().enumerate() {
        let index = match c {
            b'0'..=b'9' => usize::from(c - b'0'),
            b'A'..=b'Z' => usize::from(c - b'A'),
            _ => return None,
        };
        // `i` is 0-based: even `i` is an odd position.
        sum += if i % 2 == 0 { ODD[index] } else { index as u32 };
    }
    Some(b'A' + (sum % 26) as u8)
}

/// Computes the Luhn check digit to append to `payload` (used by the corpus generator).
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    for d in b'0'..=b'9' {
        let mut candidate = payload.to_vec();
        candidate.push(d);
        if luhn(&candidate) {
            return d;
        }
    }
    b'0'
}

/// Shannon entropy in bits per character of an ASCII string.
pub fn shannon_entropy(text: &[u8]) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in text {
        counts[usize::from(b)] += 1;
    }
    let len = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"378282246310005"));
        assert!(!luhn(b"4111111111111112"));
        assert_eq!(luhn_check_digit(b"411111111111111"), b'1');
    }

    #[test]
    fn iban_known_values() {
        assert!(iban_mod97(b"IT60X0542811101000000123456"));
        assert!(iban_mod97(b"GB82WEST12345698765432"));
        assert!(iban_mod97(b"DE89370400440532013000"));
        assert!(!iban_mod97(b"IT61X0542811101000000123456"));
    }

    #[test]
    fn partita_iva_known_values() {
        assert!(partita_iva(b"01114601006"));
        assert!(partita_iva(b"00743110157"));
        assert!(!partita_iva(b"00743110158"));
        assert!(!partita_iva(b"00000000000"));
    }

    #[test]
    fn codice_fiscale_known_values() {
        assert_eq!(codice_fiscale_check(b"RSSMRA85T10A562"), Some(b'S'));
        assert_eq!(codice_fiscale_check(b"rssmra85t10a562"), None);
    }

    #[test]
    fn entropy() {
        assert!(shannon_entropy(b"aaaaaaaa") < 0.01);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
