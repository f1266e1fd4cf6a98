//! `embedkit words ... --tokenizer jieba`: the three trainers on unsegmented Chinese
//! (testdata/data/zh_corpus.txt: fruit, animals, cities, vehicles and professions, each in
//! its own sentence patterns), and queries with Chinese arguments and Chinese output.

mod common;

use common::{embedkit, ok, root};
use std::path::Path;

const FRUIT: [&str; 8] = ["苹果", "香蕉", "葡萄", "西瓜", "橘子", "草莓", "桃子", "梨"];
const CITIES: [&str; 8] = [
    "北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "西安",
];

fn corpus() -> String {
    root()
        .join("testdata/data/zh_corpus.txt")
        .to_string_lossy()
        .into_owned()
}

/// `embedkit --threads 1 --quiet words train` on the Chinese corpus with jieba into `output`.
fn train_args(output: &Path) -> Vec<String> {
    let output = output.to_str().unwrap();
    let corpus = corpus();
    let args = [
        "--threads",
        "1",
        "--quiet",
        "words",
        "train",
        "--corpus",
        &corpus,
    ];
    let rest = ["--tokenizer", "jieba", "--output", output];
    args.iter().chain(&rest).map(|a| a.to_string()).collect()
}

fn train(output: &Path, extra: &[&str]) -> String {
    let mut args = train_args(output);
    args.extend(["--min-count", "2", "--seed", "3"].map(String::from));
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = embedkit(&args);
    ok(&out);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The words of a word2vec text / fastText .vec file.
fn vocabulary(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

fn neighbours(vectors: &Path, query: &str) -> Vec<String> {
    let v = vectors.to_str().unwrap();
    let out = ok(&embedkit(&[
        "words",
        "similar",
        "--vectors",
        v,
        query,
        "-k",
        "5",
        "--json",
    ]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    rows.iter()
        .map(|r| r["word"].as_str().unwrap().to_string())
        .collect()
}

/// The `k` words nearest (cosine) to the normalized mean of the unit vectors of `words`,
/// `words` excluded: gensim's `most_similar(positive=words)`, from the text vectors file.
fn nearest_to_mean(path: &Path, words: &[&str], k: usize) -> Vec<(String, f64)> {
    let unit = |v: Vec<f64>| {
        let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f64>>()
    };
    let rows: Vec<(String, Vec<f64>)> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split_whitespace();
            let w = it.next().unwrap().to_string();
            (w, unit(it.map(|x| x.parse().unwrap()).collect()))
        })
        .collect();
    let mut mean = vec![0.0; rows[0].1.len()];
    for (_, v) in rows.iter().filter(|(w, _)| words.contains(&w.as_str())) {
        mean.iter_mut().zip(v).for_each(|(m, x)| *m += x);
    }
    let mean = unit(mean);
    let mut scored: Vec<(String, f64)> = rows
        .iter()
        .filter(|(w, _)| !words.contains(&w.as_str()))
        .map(|(w, v)| (w.clone(), v.iter().zip(&mean).map(|(a, b)| a * b).sum()))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored
}

fn count_in(words: &[String], kind: &[&str]) -> usize {
    words.iter().filter(|w| kind.contains(&w.as_str())).count()
}

#[test]
fn every_trainer_learns_from_segmented_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let w2v = dir.path().join("w2v.txt");
    let log = train(
        &w2v,
        &["--model", "skipgram", "--dim", "32", "--epochs", "20"],
    );
    // The segmentation summary: the word count of Python jieba's segmentation of the corpus
    // (testdata/data/zh_corpus.jieba.txt).
    let reference = std::fs::read_to_string(root().join("testdata/data/zh_corpus.jieba.txt"))
        .unwrap()
        .split_whitespace()
        .count();
    assert!(
        log.contains(&format!("jieba: {reference} words in ")),
        "{log}"
    );
    let glove = dir.path().join("glove.txt");
    train(
        &glove,
        &[
            "--algo", "glove", "--dim", "32", "--epochs", "50", "--window", "5",
        ],
    );
    let ft = dir.path().join("ft");
    train(
        &ft,
        // No subsampling: on 7,500 words fastText's 1e-4 would drop most of every word.
        &[
            "--algo", "fasttext", "--model", "skipgram", "--dim", "32", "--epochs", "20",
            "--sample", "0", "--bucket", "20000",
        ],
    );
    let ft_vec = dir.path().join("ft.vec");
    for (name, vectors) in [("word2vec", &w2v), ("GloVe", &glove), ("fastText", &ft_vec)] {
        // The vocabulary holds jieba's words, not whole unsegmented clauses.
        let vocab = vocabulary(vectors);
        for w in ["苹果", "喜欢", "北京", "出差", "医生", "乘飞机"] {
            assert!(
                vocab.iter().any(|v| v == w),
                "{name}: {w} not in the vocabulary"
            );
        }
        assert!(vocab.iter().all(|v| !v.contains('，') && !v.contains('。')));
        assert!(!vocab.iter().any(|v| v == "我喜欢吃苹果"), "{name}");
        let fruit = neighbours(vectors, "苹果");
        assert!(count_in(&fruit, &FRUIT) >= 3, "{name}: {fruit:?}");
        let cities = neighbours(vectors, "北京");
        assert!(count_in(&cities, &CITIES) >= 3, "{name}: {cities:?}");
    }
}

#[test]
fn chinese_queries_are_segmented_and_their_output_lines_up() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("zh.txt");
    train(
        &v,
        &["--model", "skipgram", "--dim", "32", "--epochs", "20"],
    );
    let vs = v.to_str().unwrap();
    let jieba = ["--tokenizer", "jieba"];
    let run = |args: &[&str]| embedkit(&[&["words"], args, &["--vectors", vs]].concat());

    // Human output: the score first, then the word, so that every word starts in the same
    // column whatever its width (CJK characters take two columns).
    let out = ok(&run(&["similar", "苹果", "-k", "6"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6);
    for line in &lines {
        let (score, word) = line.split_at(8);
        assert!(score.trim().parse::<f32>().is_ok(), "{line:?}");
        assert!(score.is_ascii() && word.starts_with("  ") && !word[2..].starts_with(' '));
    }

    // A phrase that is no word of the vectors: jieba cuts it into 香蕉 / 上海, and `similar`
    // searches near the mean of their unit vectors (the two words themselves excluded),
    // computed here from the vectors file.
    let out = run(&[
        "similar",
        "香蕉上海",
        "-k",
        "6",
        "--json",
        jieba[0],
        jieba[1],
    ]);
    let stdout = ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("香蕉上海: the mean of 香蕉 / 上海"));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let got: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["word"].as_str().unwrap().to_string(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let expected = nearest_to_mean(&v, &["香蕉", "上海"], 6);
    assert_eq!(got.len(), 6);
    for ((w, s), (ew, es)) in got.iter().zip(&expected) {
        assert_eq!(w, ew);
        assert!((s - es).abs() < 1e-4, "{w}: {s} vs {es}");
    }
    // Without jieba the phrase is taken as one word, which the vectors do not have.
    let out = run(&["similar", "香蕉上海"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in vocabulary: 香蕉上海"));

    // The one-word queries take a segmented argument when it is one word (punctuation is
    // no word) and reject a phrase of several, naming its words.
    let out = ok(&run(&["vector", "苹果。", "--json", jieba[0], jieba[1]]));
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["word"], "苹果");
    assert_eq!(json["vector"].as_array().unwrap().len(), 32);
    let out = run(&["vector", "苹果香蕉", jieba[0], jieba[1]]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is 2 words for the jieba tokenizer (苹果 / 香蕉)"),
        "{err}"
    );
    let out = run(&["similarity", "苹果", "北京上海", jieba[0], jieba[1]]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("北京 / 上海"));

    // Fruit is closer to fruit than to a city; the city is the odd one out.
    let sim = |a: &str, b: &str| -> f32 { ok(&run(&["similarity", a, b])).trim().parse().unwrap() };
    assert!(sim("苹果", "香蕉") > sim("苹果", "北京"));
    let odd = ok(&run(&[
        "doesnt-match",
        "苹果",
        "香蕉",
        "北京",
        "葡萄",
        jieba[0],
        jieba[1],
    ]));
    assert_eq!(odd.trim(), "北京");
    // 苹果 : 香蕉 :: 北京 : ? (a city; both kinds appear in the same sentence patterns of
    // their own, so the answer stays among the cities).
    let out = ok(&run(&[
        "analogy", "苹果", "香蕉", "北京", "-k", "3", "--json",
    ]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let top = rows[0]["word"].as_str().unwrap().to_string();
    assert!(CITIES.contains(&top.as_str()), "{out}");
}

/// A training error names the user's corpus, not the temporary segmented copy, and the copy
/// is gone afterwards.
#[test]
fn a_failed_jieba_training_names_the_corpus_and_leaves_no_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("zh.txt");
    let corpus = corpus();
    for algo in ["word2vec", "glove", "fasttext"] {
        let tmp = dir.path().join(format!("tmp-{algo}"));
        std::fs::create_dir(&tmp).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_embedkit"))
            .args([
                "--quiet", "words", "train", "--algo", algo, "--corpus", &corpus,
            ])
            .args(["--tokenizer", "jieba", "--min-count", "100000", "-o"])
            .arg(&out_file)
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{algo}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!(
                "training on {corpus}: no word of the corpus occurs"
            )),
            "{algo}: {err}"
        );
        assert!(!err.contains("embedkit-segmented"), "{algo}: {err}");
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0, "{algo}");
    }
}

/// Clauses of the corpus that name one fruit or one city, labelled so, as fastText lines:
/// those naming the first four fruits and cities to train on, those naming the other four
/// to test on (so every test clause is new as a whole, and only its other words, such as
/// 的味道很甜 or 的人口很多, tell its kind).
fn fruit_or_city_clauses() -> (String, String) {
    let text = std::fs::read_to_string(corpus()).unwrap();
    let (mut train, mut test) = (String::new(), String::new());
    for clause in text.split(['，', '。', '\n']).filter(|c| !c.is_empty()) {
        let named: Vec<(usize, &str)> = FRUIT
            .iter()
            .map(|w| (w, "__label__fruit"))
            .chain(CITIES.iter().map(|w| (w, "__label__city")))
            .enumerate()
            .filter(|(_, (w, _))| clause.contains(*w))
            .map(|(i, (_, label))| (i % 8, label))
            .collect();
        let [(i, label)] = named[..] else { continue };
        let out = if i < 4 { &mut train } else { &mut test };
        out.push_str(&format!("{label} {clause}\n"));
    }
    (train, test)
}

/// P@1 of `words supervised test` on `test` for a model trained on `train`.
fn supervised_precision(dir: &Path, tokenizer: &str, train: &Path, test: &Path) -> f64 {
    let model = dir.join(format!("{tokenizer}.bin"));
    let (m, tr, te) = (
        model.to_str().unwrap(),
        train.to_str().unwrap(),
        test.to_str().unwrap(),
    );
    let tok = ["--tokenizer", tokenizer];
    let args = [
        "--threads",
        "1",
        "words",
        "supervised",
        "train",
        "-i",
        tr,
        "-o",
        m,
    ];
    ok(&embedkit(
        &[&args[..], &tok, &["--epoch", "20", "--dim", "16"]].concat(),
    ));
    let out = ok(&embedkit(
        &[
            &["words", "supervised", "test", "-m", m, "-i", te][..],
            &tok,
        ]
        .concat(),
    ));
    let p1 = out.lines().find_map(|l| l.strip_prefix("P@1\t")).unwrap();
    p1.parse().unwrap()
}

/// Supervised classification of unsegmented Chinese: with jieba the words around the new
/// fruits and cities are known and the classifier is nearly always right; with whitespace
/// each clause is one unseen token. `predict --tokenizer jieba` segments its text the same way.
#[test]
fn supervised_classification_segments_chinese_with_jieba() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = fruit_or_city_clauses();
    let (train_path, test_path) = (dir.path().join("train.txt"), dir.path().join("test.txt"));
    std::fs::write(&train_path, &train).unwrap();
    std::fs::write(&test_path, &test).unwrap();
    assert!(
        test.lines().count() >= 50,
        "{} test clauses",
        test.lines().count()
    );
    let jieba = supervised_precision(dir.path(), "jieba", &train_path, &test_path);
    let whitespace = supervised_precision(dir.path(), "whitespace", &train_path, &test_path);
    assert!(jieba >= 0.9, "jieba P@1 {jieba}");
    assert!(
        jieba > whitespace + 0.2,
        "jieba {jieba}, whitespace {whitespace}"
    );

    let model = dir.path().join("jieba.bin");
    let m = model.to_str().unwrap();
    let predict = |text: &str| {
        let args = [
            "words",
            "supervised",
            "predict",
            "-m",
            m,
            "--tokenizer",
            "jieba",
            text,
        ];
        ok(&embedkit(&args))
    };
    assert!(predict("桃子的味道很甜。").starts_with("__label__fruit"));
    assert!(predict("西安的人口很多。").starts_with("__label__city"));
}

/// Ctrl-C in the middle of training: the segmented copy of the corpus and GloVe's spill
/// folder (named for the process, in `TMPDIR`) are removed, and the exit status says
/// "interrupted" (130).
#[cfg(unix)]
#[test]
fn an_interrupted_training_leaves_no_temporary_files() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("v.txt");
    let mut child = Command::new(env!("CARGO_BIN_EXE_embedkit"))
        .args(train_args(&output))
        .args(["--algo", "glove", "--epochs", "1000000"])
        .env("TMPDIR", tmp.path())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let names = || -> Vec<String> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let start = Instant::now();
    while names().len() < 2 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let made = names();
    let signal = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(signal.unwrap().success());
    assert!(
        made.iter().any(|n| n.starts_with("embedkit-segmented-"))
            && made.iter().any(|n| n.starts_with("embedkit-glove-")),
        "temporary files while training: {made:?}"
    );
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(names().is_empty(), "left behind: {:?}", names());
    assert!(!output.exists());
}
