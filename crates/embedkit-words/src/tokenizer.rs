//! How text becomes words. Whitespace (the default, as the original tools) takes the text as
//! it is; jieba segments Chinese, which is written without spaces, into words with the
//! jieba-rs crate (jieba's dictionary, and its HMM for words not in the dictionary): Chinese
//! comes out as from Python's `jieba.cut(text)` with its defaults; ASCII names with `.`, `-`
//! or `_` (`github.com`, `pg_dump`) stay whole, where Python's jieba splits them.
//!
//! The trainers read whitespace-separated words, so a corpus to segment is first written,
//! once, as a whitespace-separated copy ([`Segmenter::segment_file`]): streamed in batches,
//! each batch segmented on all threads. Segmenting once costs less than segmenting in the
//! training threads, which read the corpus `epochs + 1` times.

use crate::error::{Result, WordsError};
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

/// A way of splitting text into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tokenizer {
    /// Words are separated by whitespace.
    #[default]
    Whitespace,
    /// Chinese word segmentation with jieba (whitespace and punctuation separate words too).
    Jieba,
}

impl fmt::Display for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Whitespace => "whitespace",
            Self::Jieba => "jieba",
        })
    }
}

/// Bytes of the corpus segmented per thread in one batch of [`Segmenter::segment_file`].
const BATCH_PER_THREAD: usize = 1 << 20;

/// A ready tokenizer (for jieba, its dictionary loaded once; it is shared by all threads).
pub struct Segmenter {
    jieba: Option<jieba_rs::Jieba>,
}

impl fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Segmenter({})", self.tokenizer())
    }
}

impl Segmenter {
    /// Loads the tokenizer (for jieba, its built-in dictionary: a fraction of a second).
    pub fn new(tokenizer: Tokenizer) -> Self {
        Self {
            jieba: (tokenizer == Tokenizer::Jieba).then(jieba_rs::Jieba::new),
        }
    }

    /// Which tokenizer this is.
    pub fn tokenizer(&self) -> Tokenizer {
        if self.jieba.is_some() {
            Tokenizer::Jieba
        } else {
            Tokenizer::Whitespace
        }
    }

    /// The words of `text`. jieba also returns each space and punctuation mark as a token;
    /// only tokens with a letter or digit (of any script) are kept as words.
    pub fn words<'a>(&self, text: &'a str) -> Vec<&'a str> {
        match &self.jieba {
            None => text.split_whitespace().collect(),
            Some(j) => j
                .cut(text, true)
                .into_iter()
                .map(|t| t.word)
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .collect(),
        }
    }

    /// Writes the words of `input` to `output`, separated by single spaces, a line of input
    /// giving a line of output (so sentences stay sentences); returns the number of words.
    /// Streams: at most `threads` MiB of the input are held at a time, and each batch is
    /// segmented on `threads` threads. Bytes that are not UTF-8 become U+FFFD.
    pub fn segment_file(&self, input: &Path, output: &Path, threads: usize) -> Result<u64> {
        let file = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WordsError::File { path, source }
        };
        let r = File::open(input).map_err(file(input))?;
        let mut w = BufWriter::new(File::create(output).map_err(file(output))?);
        let count = self.segment_stream(r, &mut w, threads, BATCH_PER_THREAD)?;
        w.flush().map_err(file(output))?;
        Ok(count)
    }

    /// [`Self::segment_file`] on a stream, in batches of `threads * batch_per_thread` bytes.
    fn segment_stream(
        &self,
        mut r: impl Read,
        mut w: impl Write,
        threads: usize,
        batch_per_thread: usize,
    ) -> Result<u64> {
        let threads = threads.max(1);
        let size = threads * batch_per_thread;
        let mut batch: Vec<u8> = Vec::with_capacity(size);
        let mut count = 0u64;
        loop {
            // Fill the batch, segment it up to its last boundary, and keep the rest for the
            // next one.
            let mut filled = batch.len();
            batch.resize(size.max(filled + 1), 0);
            while filled < batch.len() {
                match r.read(&mut batch[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let at_end = filled < batch.len();
            batch.truncate(filled);
            let cut = if at_end {
                batch.len()
            } else {
                last_boundary(&batch).unwrap_or_else(|| last_char_start(&batch))
            };
            let (text, words) = self.segment_parallel(&batch[..cut], threads);
            count += words;
            w.write_all(text.as_bytes())?;
            batch.drain(..cut);
            if at_end {
                return Ok(count);
            }
        }
    }

    /// Segments `bytes` (which end at a boundary) in `threads` parts, each cut at a boundary.
    fn segment_parallel(&self, bytes: &[u8], threads: usize) -> (String, u64) {
        let mut parts = Vec::with_capacity(threads);
        let mut start = 0;
        for t in 1..threads {
            let nominal = (bytes.len() * t / threads).max(start);
            let end = first_boundary(bytes, nominal).unwrap_or(bytes.len());
            parts.push(&bytes[start..end]);
            start = end;
        }
        parts.push(&bytes[start..]);
        let outputs: Vec<(String, u64)> = std::thread::scope(|s| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|p| s.spawn(move || self.segment_part(p)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("segmenting thread panicked"))
                .collect()
        });
        let mut text = String::with_capacity(outputs.iter().map(|o| o.0.len()).sum());
        let mut words = 0;
        for (t, n) in outputs {
            text.push_str(&t);
            words += n;
        }
        (text, words)
    }

    /// Segments a part line by line. A part that ends inside a line (a very long line) ends
    /// its words with a space instead of a newline, so they do not run into the next part's.
    fn segment_part(&self, bytes: &[u8]) -> (String, u64) {
        let mut out = String::with_capacity(bytes.len() + bytes.len() / 4);
        let mut count = 0u64;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let (body, newline) = match line.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (line, false),
            };
            let text = String::from_utf8_lossy(body);
            let words = self.words(&text);
            count += words.len() as u64;
            for (i, word) in words.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(word);
            }
            out.push(if newline { '\n' } else { ' ' });
        }
        (out, count)
    }
}

/// Where text may be cut without changing its segmentation: right after a newline, else
/// right after a character jieba never joins to a word (ASCII whitespace, CJK punctuation
/// U+3000..U+303F such as 。and 、, and the full-width ，！？：；). jieba segments the runs
/// between such characters independently, so a cut there changes nothing.
fn boundary_len(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes[i] {
        b if b.is_ascii_whitespace() => Some(1),
        0xE3 if bytes.get(i + 1) == Some(&0x80)
            && bytes.get(i + 2).is_some_and(|b| b & 0xC0 == 0x80) =>
        {
            Some(3)
        }
        0xEF if bytes.get(i + 1) == Some(&0xBC)
            && matches!(bytes.get(i + 2), Some(0x8C | 0x81 | 0x9F | 0x9A | 0x9B)) =>
        {
            Some(3)
        }
        _ => None,
    }
}

/// The end of the first line starting at or after `from`, else the first other boundary.
fn first_boundary(bytes: &[u8], from: usize) -> Option<usize> {
    if let Some(i) = bytes[from..].iter().position(|&b| b == b'\n') {
        return Some(from + i + 1);
    }
    (from..bytes.len()).find_map(|i| boundary_len(bytes, i).map(|n| i + n))
}

/// The end of the last whole line in `bytes`, else the last other boundary.
fn last_boundary(bytes: &[u8]) -> Option<usize> {
    if let Some(i) = bytes.iter().rposition(|&b| b == b'\n') {
        return Some(i + 1);
    }
    (0..bytes.len()).rev().find_map(|i| {
        boundary_len(bytes, i)
            .map(|n| i + n)
            .filter(|&e| e <= bytes.len())
    })
}

/// Where the last UTF-8 character of `bytes` starts (a cut of last resort, in a batch
/// without any boundary), or the end when that is the start.
fn last_char_start(bytes: &[u8]) -> usize {
    match bytes.iter().rposition(|&b| b & 0xC0 != 0x80) {
        Some(i) if i > 0 => i,
        _ => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_fall_after_newlines_spaces_and_cjk_punctuation() {
        let s = "苹果。香蕉，西瓜".as_bytes();
        // After 。 (3 bytes) and after ，.
        assert_eq!(first_boundary(s, 0), Some(9));
        assert_eq!(first_boundary(s, 9), Some(18));
        assert_eq!(last_boundary(s), Some(18));
        assert_eq!(first_boundary("苹果\n香蕉 x".as_bytes(), 0), Some(7));
        assert_eq!(last_boundary("苹果香蕉".as_bytes()), None);
    }

    /// Python jieba 0.42.1, `jieba.lcut(s)` (precise mode, HMM on), run on each sentence:
    /// the reference, before dropping the tokens without a letter or digit.
    const PYTHON_JIEBA: &[(&str, &[&str])] = &[
        ("我来到北京清华大学", &["我", "来到", "北京", "清华大学"]),
        (
            "他来到了网易杭研大厦",
            &["他", "来到", "了", "网易", "杭研", "大厦"],
        ),
        (
            "小明硕士毕业于中国科学院计算所，后在日本京都大学深造",
            &[
                "小明",
                "硕士",
                "毕业",
                "于",
                "中国科学院",
                "计算所",
                "，",
                "后",
                "在",
                "日本京都大学",
                "深造",
            ],
        ),
        (
            "我们乘飞机去 Paris！",
            &["我们", "乘飞机", "去", " ", "Paris", "！"],
        ),
        (
            "iPhone 15 的价格是 5999.00 元。",
            &[
                "iPhone", " ", "15", " ", "的", "价格", "是", " ", "5999.00", " ", "元", "。",
            ],
        ),
        ("南京市长江大桥", &["南京市", "长江大桥"]),
        (
            "工信处女干事每月经过下属科室都要亲口交代24口交换机等技术性器件的安装工作",
            &[
                "工信处",
                "女干事",
                "每月",
                "经过",
                "下属",
                "科室",
                "都",
                "要",
                "亲口",
                "交代",
                "24",
                "口",
                "交换机",
                "等",
                "技术性",
                "器件",
                "的",
                "安装",
                "工作",
            ],
        ),
    ];

    #[test]
    fn jieba_segments_as_python_jieba_does() {
        let j = Segmenter::new(Tokenizer::Jieba);
        for (text, reference) in PYTHON_JIEBA {
            let words: Vec<&str> = reference
                .iter()
                .copied()
                .filter(|w| !matches!(*w, " " | "，" | "。" | "！"))
                .collect();
            assert_eq!(j.words(text), words, "{text}");
        }
    }

    #[test]
    fn segmenting_in_batches_and_threads_gives_the_words_of_each_line() {
        let j = Segmenter::new(Tokenizer::Jieba);
        let text = "我来到北京清华大学。\n\n他来到了网易杭研大厦\n".repeat(5)
            + &"小明硕士毕业于中国科学院计算所，后在日本京都大学深造。".repeat(8)
            + "\n南京市长江大桥";
        // Batches of 3 x 40 bytes: lines are cut across batches and threads.
        let mut out = Vec::new();
        let n = j.segment_stream(text.as_bytes(), &mut out, 3, 40).unwrap();
        let out = String::from_utf8(out).unwrap();
        let expected: Vec<Vec<&str>> = text.split('\n').map(|l| j.words(l)).collect();
        let got: Vec<Vec<&str>> = out
            .split('\n')
            .map(|l| l.split(' ').filter(|w| !w.is_empty()).collect())
            .collect();
        assert_eq!(got, expected);
        assert_eq!(n as usize, expected.iter().map(Vec::len).sum::<usize>());
        // One thread, one batch: the same text.
        let mut whole = Vec::new();
        j.segment_stream(text.as_bytes(), &mut whole, 1, 1 << 20)
            .unwrap();
        assert_eq!(
            String::from_utf8(whole)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            out.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn whitespace_keeps_tokens_as_they_are() {
        let w = Segmenter::new(Tokenizer::Whitespace);
        assert_eq!(
            w.words("我喜欢吃苹果。 a  b\n"),
            ["我喜欢吃苹果。", "a", "b"]
        );
    }
}
