//! fastText's character n-grams and their hash.
//!
//! A word `w` is wrapped as `<w>`; its n-grams are all substrings of `minn..=maxn` UTF-8
//! *characters* (not bytes), except the lone `<` and `>`. Each n-gram goes to bucket
//! `fnv1a(ngram) % bucket`.

/// fastText's 32-bit FNV-1a. The original XORs each byte *as a signed char* widened to 32
/// bits, so bytes >= 0x80 (all non-ASCII UTF-8) are sign-extended: `0xC3` is XORed as
/// `0xFFFF_FFC3`. Plain FNV-1a would give other buckets for every non-ASCII word.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Calls `f` with every character n-gram of `<word>` in fastText's order (by start
/// character, then by length).
pub fn for_each_ngram(word: &str, minn: usize, maxn: usize, mut f: impl FnMut(&str)) {
    if maxn == 0 || minn > maxn {
        return;
    }
    let wrapped = format!("<{word}>");
    let starts: Vec<usize> = wrapped.char_indices().map(|(i, _)| i).collect();
    let nchars = starts.len();
    for i in 0..nchars {
        for n in minn.max(1)..=maxn {
            if i + n > nchars {
                break;
            }
            // The lone boundary markers carry no information.
            if n == 1 && (i == 0 || i + 1 == nchars) {
                continue;
            }
            let end = starts.get(i + n).copied().unwrap_or(wrapped.len());
            f(&wrapped[starts[i]..end]);
        }
    }
}

/// The character n-grams of `<word>`, as strings.
pub fn char_ngrams(word: &str, minn: usize, maxn: usize) -> Vec<String> {
    let mut out = Vec::new();
    for_each_ngram(word, minn, maxn, |g| out.push(g.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngrams_of_short_word_include_the_whole_word() {
        assert_eq!(char_ngrams("zq", 3, 6), vec!["<zq", "<zq>", "zq>"]);
    }

    #[test]
    fn ngrams_count_characters_not_bytes() {
        let g = char_ngrams("é", 1, 2);
        assert_eq!(g, vec!["<é", "é", "é>"]);
    }

    #[test]
    fn fnv_sign_extends_non_ascii_bytes() {
        // Hand-computed: plain FNV-1a of [0xC3] is 0x0C0C7B8E ^ ... differs from the
        // sign-extended variant; check the definition directly.
        let mut h: u32 = 2_166_136_261;
        h ^= 0xFFFF_FFC3;
        h = h.wrapping_mul(16_777_619);
        assert_eq!(fnv1a(&[0xC3]), h);
        let mut plain: u32 = 2_166_136_261;
        plain ^= 0xC3;
        plain = plain.wrapping_mul(16_777_619);
        assert_ne!(fnv1a(&[0xC3]), plain);
        // ASCII is plain FNV-1a: the published test vector for "a".
        assert_eq!(fnv1a(b"a"), 0xE40C_292C);
    }
}
