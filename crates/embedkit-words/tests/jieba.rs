//! jieba segmentation for training: the unsegmented Chinese corpus of testdata
//! (`data/zh_corpus.txt`, five kinds of things, each in its own sentence patterns) segmented
//! with jieba trains word2vec vectors whose neighbours are words of the same kind.

use embedkit_words::tokenizer::{Segmenter, Tokenizer};
use embedkit_words::train::word2vec::{self, Word2VecConfig};
use std::path::PathBuf;

const FRUIT: [&str; 8] = ["苹果", "香蕉", "葡萄", "西瓜", "橘子", "草莓", "桃子", "梨"];
const ANIMALS: [&str; 8] = ["猫", "狗", "兔子", "老虎", "狮子", "熊猫", "猴子", "马"];
const CITIES: [&str; 8] = [
    "北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "西安",
];
const JOBS: [&str; 8] = [
    "医生",
    "老师",
    "律师",
    "工程师",
    "警察",
    "护士",
    "记者",
    "厨师",
];

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data/zh_corpus.txt")
}

#[test]
fn jieba_segmented_chinese_trains_neighbours_of_the_same_kind() {
    let dir = tempfile::tempdir().unwrap();
    let segmented = dir.path().join("zh.seg.txt");
    let words = Segmenter::new(Tokenizer::Jieba)
        .segment_file(&corpus(), &segmented, 2)
        .unwrap();
    let text = std::fs::read_to_string(&segmented).unwrap();
    // Python jieba 0.42.1's `jieba.lcut(line)` of each line, tokens without a letter or
    // digit dropped, joined by spaces (see testdata/README.md).
    let python = std::fs::read_to_string(corpus().with_extension("jieba.txt")).unwrap();
    for (i, (ours, theirs)) in text.lines().zip(python.lines()).enumerate() {
        assert_eq!(ours, theirs, "line {}", i + 1);
    }
    assert_eq!(text, python);
    assert_eq!(words as usize, text.split_whitespace().count());

    let cfg = Word2VecConfig {
        skip_gram: true,
        dim: 32,
        epochs: 20,
        min_count: 2,
        threads: 1,
        seed: 3,
        ..Default::default()
    };
    let v = word2vec::train(&segmented, &cfg, &|_| {}).unwrap().vectors;
    let kinds = [&FRUIT[..], &ANIMALS, &CITIES, &JOBS];
    let (mut same, mut all) = (0, 0);
    for (k, kind) in kinds.iter().enumerate() {
        for w in kind.iter() {
            // Closer, on average, to the words of its own kind than to those of any other.
            let mean = |other: &[&str]| {
                let sims: Vec<f32> = other
                    .iter()
                    .filter(|o| *o != w)
                    .map(|o| v.similarity(w, o).unwrap())
                    .collect();
                sims.iter().sum::<f32>() / sims.len() as f32
            };
            let own = mean(kind);
            for (j, other) in kinds.iter().enumerate() {
                if j != k {
                    assert!(own > mean(other), "{w}: {own} vs {:?}", other);
                }
            }
            let near = v.most_similar(&[w], &[], 5, None).unwrap();
            same += near
                .iter()
                .filter(|n| kind.contains(&n.word.as_str()))
                .count();
            all += near.len();
        }
    }
    // Searching the whole vocabulary (pattern words too), at least 3 in 4 of the 5 nearest
    // words are of the same kind (134 of 160 when written).
    assert!(
        same * 4 >= all * 3,
        "{same} of {all} neighbours of the same kind"
    );
}
