//! Seeded, structure-aware mutation of test inputs, shared by the `mutated_*` tests of several
//! crates (each includes this file with `#[path]`, so no crate depends on another for it).
//!
//! Mutations start from valid inputs, so that most of them get past the first checks of a
//! parser and reach its deeper code: byte changes, splices, cut and repeated ranges, numbers
//! at the edges of the integer and float types (as text and as little-endian binary), and for
//! JSON, changes of the document's tree: deleted, duplicated and unknown keys, values of the
//! wrong type, huge strings and numbers, deep nesting.
//!
//! The generator is seeded, so a failing round reruns the same inputs; the number of rounds
//! is each test's CI budget unless `EMBEDKIT_MUTATION_ROUNDS` sets it (`scripts/fuzz.sh`).
#![allow(dead_code)]

use serde_json::Value;

/// xorshift64*: enough randomness for mutations, identical on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 for `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `seed` cut at a random place and with up to eight bytes replaced; sometimes a byte of
    /// JSON syntax or a digit, which reach further into a header than random bytes do.
    pub fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut b = seed.to_vec();
        if self.one_in(3) {
            let cut = self.below(b.len() + 1);
            b.truncate(cut);
        }
        for _ in 0..1 + self.below(8) {
            if b.is_empty() {
                break;
            }
            let i = self.below(b.len());
            b[i] = match self.below(3) {
                0 => *self.pick(b"{}[]\":,-0123456789e"),
                _ => self.next() as u8,
            };
        }
        b
    }

    /// One to four of: byte changes, an edge number written over or into the bytes (as text
    /// or as a little-endian integer), a range of `seed` or of a `donor` spliced in, a range
    /// deleted or repeated, a cut.
    pub fn mutate_bytes(&mut self, seed: &[u8], donors: &[&[u8]]) -> Vec<u8> {
        let mut b = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(8) {
                0 => {
                    let cut = self.below(b.len() + 1);
                    b.truncate(cut);
                }
                1 => {
                    for _ in 0..1 + self.below(8) {
                        if !b.is_empty() {
                            let i = self.below(b.len());
                            b[i] = *self.pick(INTERESTING_BYTES);
                        }
                    }
                }
                2 => self.replace_number_text(&mut b),
                3 => {
                    let n = *self.pick(EDGE_INTEGERS);
                    let width = *self.pick(&[1, 2, 4, 8]);
                    let at = self.below(b.len() + 1);
                    let end = (at + width).min(b.len());
                    b.splice(at..end, n.to_le_bytes()[..width].iter().copied());
                }
                4 => {
                    let donor = if donors.is_empty() || self.one_in(3) {
                        seed
                    } else {
                        *self.pick(donors)
                    };
                    let piece = self.range_of(donor).to_vec();
                    let at = self.below(b.len() + 1);
                    let end = if self.one_in(2) {
                        at
                    } else {
                        (at + piece.len()).min(b.len())
                    };
                    b.splice(at..end, piece);
                }
                5 => {
                    let (start, end) = self.range(b.len());
                    b.drain(start..end);
                }
                6 => {
                    let piece = self.range_of(&b).to_vec();
                    let at = self.below(b.len() + 1);
                    b.splice(at..at, piece);
                }
                _ => {
                    for _ in 0..1 + self.below(8) {
                        if !b.is_empty() {
                            let i = self.below(b.len());
                            b[i] = self.next() as u8;
                        }
                    }
                }
            }
        }
        b
    }

    /// A range of up to 64 bytes within `len`, biased to short ones.
    fn range(&mut self, len: usize) -> (usize, usize) {
        let start = self.below(len + 1);
        let longest = (len - start).min(1 + self.below(64));
        let end = start + self.below(longest + 1);
        (start, end)
    }

    fn range_of<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let (start, end) = self.range(bytes.len());
        &bytes[start..end]
    }

    /// Replaces the run of ASCII digits nearest a random place (or inserts at it, if there
    /// is none) with an edge number written as text: the counts and sizes of text formats.
    fn replace_number_text(&mut self, b: &mut Vec<u8>) {
        let at = self.below(b.len() + 1);
        let start = b[at..]
            .iter()
            .position(u8::is_ascii_digit)
            .map_or(at, |k| at + k);
        let len = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        let number = self.pick(EDGE_NUMBERS).as_bytes().to_vec();
        b.splice(start..start + len, number);
    }

    /// `seed` (a JSON document) with one to three changes of its tree, written back as text,
    /// and in one case of four its bytes mutated as well.
    pub fn mutate_json(&mut self, seed: &Value) -> Vec<u8> {
        let mut tree = Json::from(seed);
        for _ in 0..1 + self.below(3) {
            let node = self.pick_node(&mut tree);
            self.change(node);
        }
        let mut text = Vec::new();
        tree.write(&mut text);
        if self.one_in(4) {
            text = self.mutate_bytes(&text, &[]);
        }
        text
    }

    /// A node of `tree`: each level stops at its container with probability 1/3, so the
    /// top-level keys are changed about as often as the leaves of large arrays and maps.
    fn pick_node<'a>(&mut self, node: &'a mut Json) -> &'a mut Json {
        let n = node.children();
        if n == 0 || self.one_in(3) {
            return node;
        }
        let i = self.below(n);
        match node {
            Json::Array(items) => self.pick_node(&mut items[i]),
            Json::Object(entries) => self.pick_node(&mut entries[i].1),
            _ => unreachable!("only containers have children"),
        }
    }

    fn change(&mut self, node: &mut Json) {
        match node {
            Json::Object(entries) if !entries.is_empty() && !self.one_in(3) => {
                let i = self.below(entries.len());
                match self.below(4) {
                    0 => {
                        entries.remove(i);
                    }
                    // serde_json keeps one of two equal keys: which one, and whether a
                    // `deny_unknown_fields` struct refuses the pair, is what this probes.
                    1 => {
                        let (key, mut value) = entries[i].clone();
                        self.change(&mut value);
                        entries.push((key, value));
                    }
                    2 => {
                        let value = self.wrong_value();
                        entries.push((self.pick(UNKNOWN_KEYS).to_string(), value));
                    }
                    _ => self.change(&mut entries[i].1),
                }
            }
            Json::Array(items) if !items.is_empty() && !self.one_in(3) => {
                let i = self.below(items.len());
                match self.below(3) {
                    0 => {
                        items.remove(i);
                    }
                    1 => {
                        let copies = *self.pick(&[1, 2, 100, 5000]);
                        let item = items[i].clone();
                        items.extend(std::iter::repeat_n(item, copies));
                    }
                    _ => self.change(&mut items[i]),
                }
            }
            Json::String(s) if self.one_in(2) => {
                let bytes = self.mutate_bytes(s.as_bytes(), &[]);
                *s = String::from_utf8_lossy(&bytes).into_owned();
            }
            _ => *node = self.wrong_value(),
        }
    }

    /// A value of any type, often one a parser does not expect where it lands.
    fn wrong_value(&mut self) -> Json {
        match self.below(10) {
            0 => Json::Raw("null".into()),
            1 => Json::Raw(self.pick(&["true", "false"]).as_bytes().to_vec()),
            2 | 3 => Json::Raw(self.pick(EDGE_NUMBERS).as_bytes().to_vec()),
            4 => Json::String(self.pick(ODD_STRINGS).to_string()),
            5 => {
                let len = *self.pick(&[1000, 70_000, 1 << 20]);
                Json::String(self.pick(&["a", "字", "🙂 ", "[UNK] "]).repeat(len))
            }
            6 => Json::Array(Vec::new()),
            7 => Json::Object(Vec::new()),
            // Deeper than serde_json's recursion limit (128) and than any schema.
            8 => {
                let depth = *self.pick(&[64, 200, 100_000]);
                let mut raw = "[".repeat(depth).into_bytes();
                raw.extend("]".repeat(depth).into_bytes());
                Json::Raw(raw)
            }
            // Bytes that are not UTF-8 inside a string.
            _ => Json::Raw(b"\"\xff\xfe\xc3(\xed\xa0\x80\"".to_vec()),
        }
    }
}

/// How many rounds a loop runs: `default` (the CI budget) unless `EMBEDKIT_MUTATION_ROUNDS`
/// says otherwise.
pub fn rounds(default: usize) -> usize {
    std::env::var("EMBEDKIT_MUTATION_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Numbers as text at the edges of u8/i32/u32/i64/u64/usize and f32/f64, and a few that
/// are not JSON at all.
pub const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "2",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "100000000000000000000000000000000000000000",
    "0.5",
    "1e-400",
    "3.4028236e38",
    "1e308",
    "1e309",
    "-1e309",
    "1.0e+2",
    "NaN",
    "Infinity",
    "0x10",
];

/// Integers written as little-endian binary (as wide as the field they land on).
const EDGE_INTEGERS: &[i64] = &[
    0,
    -1,
    1,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
    i64::MAX,
    i64::MIN,
];

const INTERESTING_BYTES: &[u8] = b"\0\x01\x7f\x80\xff{}[]\":,-0123456789e \n\t\\";

const UNKNOWN_KEYS: &[&str] = &["unknown_field", "", "__proto__", "model", "input"];

const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "\0",
    "\u{feff}",
    "\u{10ffff}",
    "a\u{300}\u{300}\u{300}",
    "[CLS]",
    "[UNK]",
    "<|endoftext|>",
    "data:image/png;base64,",
    "data:image/png;base64,@@@",
    "data:image/png;base64,iVBORw0KGgo=",
    "data:;base64,AAAA",
    "data:image/jpeg;base64,/9j/4AAQ",
    "https://example.invalid/a.png",
    "../../../../etc/passwd",
    "auto",
    "float",
    "base64",
    "query",
    "left",
];

/// A JSON tree that can hold what `serde_json::Value` cannot: repeated keys, and raw text
/// (edge numbers, deep nesting, bytes that are not UTF-8).
#[derive(Clone)]
enum Json {
    Raw(Vec<u8>),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn from(v: &Value) -> Self {
        match v {
            Value::String(s) => Self::String(s.clone()),
            Value::Array(items) => Self::Array(items.iter().map(Self::from).collect()),
            Value::Object(map) => Self::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Self::from(v)))
                    .collect(),
            ),
            other => Self::Raw(other.to_string().into_bytes()),
        }
    }

    fn children(&self) -> usize {
        match self {
            Self::Array(items) => items.len(),
            Self::Object(entries) => entries.len(),
            _ => 0,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Raw(raw) => out.extend_from_slice(raw),
            Self::String(s) => out.extend(Value::from(s.as_str()).to_string().into_bytes()),
            Self::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(out);
                }
                out.push(b']');
            }
            Self::Object(entries) => {
                out.push(b'{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(Value::from(key.as_str()).to_string().into_bytes());
                    out.push(b':');
                    value.write(out);
                }
                out.push(b'}');
            }
        }
    }
}
