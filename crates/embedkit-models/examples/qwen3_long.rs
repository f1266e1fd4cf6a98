//! Long-input measurements for Qwen3: peak memory and tokens/s at a given input length.
//!
//! ```sh
//! # a random-weight model with the real Qwen3-Embedding-0.6B shapes (never committed)
//! cargo run --release -p embedkit-models --example qwen3_long -- make-random /tmp/qwen3-0.6b
//! # one input of N tokens; run each length in its own process so peak RSS is per length
//! cargo run --release -p embedkit-models --example qwen3_long -- run testdata/fixtures/tiny-qwen3 8192
//! # the same with the weights kept in bf16 (half the memory)
//! cargo run --release -p embedkit-models --example qwen3_long -- run /tmp/qwen3-0.6b 512 bf16
//! ```
//! Prints one JSON line: tokens, seconds, tokens/s, RSS after loading, peak RSS.

use embedkit_models::{EmbedOptions, Precision, Prompt, SentenceEmbedder};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn run(dir: &Path, tokens: usize, precision: Precision) {
    let mut model = SentenceEmbedder::from_folder_with(dir, precision).expect("load model");
    model.set_max_seq_length(tokens).expect("max length");
    let loaded_rss = status_kib("VmRSS:");
    let text = std::iter::once("hello")
        .chain(std::iter::repeat_n(" hello", tokens.saturating_sub(2)))
        .collect::<String>();
    let n = model.tokenize(&[&text], &Prompt::None).unwrap()[0]
        .ids
        .len();
    let t = Instant::now();
    let v = model
        .embed(&[&text], &EmbedOptions::default())
        .expect("embed");
    let secs = t.elapsed().as_secs_f64();
    assert!(v[0].iter().all(|x| x.is_finite()));
    println!(
        "{{\"model\": {:?}, \"precision\": \"{}\", \"weight_mib\": {}, \"tokens\": {n}, \"seconds\": {secs:.3}, \"tokens_per_s\": {:.1}, \"rss_after_load_mib\": {}, \"peak_rss_mib\": {}}}",
        dir.display().to_string(),
        precision.name(),
        model.info().weight_bytes >> 20,
        n as f64 / secs,
        loaded_rss / 1024,
        status_kib("VmHWM:") / 1024
    );
}

/// Writes a Qwen3-Embedding-0.6B-shaped folder with random weights (uniform, std 0.02),
/// reusing the fixture's tokenizer and sentence-transformers files.
fn make_random(out: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fixtures/tiny-qwen3");
    std::fs::create_dir_all(out.join("1_Pooling")).unwrap();
    std::fs::create_dir_all(out.join("2_Normalize")).unwrap();
    for f in [
        "tokenizer.json",
        "tokenizer_config.json",
        "modules.json",
        "sentence_bert_config.json",
        "config_sentence_transformers.json",
        "2_Normalize/config.json",
    ] {
        std::fs::copy(fixture.join(f), out.join(f)).unwrap();
    }
    let (hidden, layers, heads, kv, hd, inter, vocab) = (1024, 28, 16, 8, 128, 3072, 151_669);
    let config = serde_json::json!({
        "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
        "head_dim": hd, "intermediate_size": inter, "vocab_size": vocab, "rms_norm_eps": 1e-6,
        "rope_theta": 1_000_000, "max_position_embeddings": 32768, "hidden_act": "silu",
        "eos_token_id": 151643, "tie_word_embeddings": true, "torch_dtype": "float32"
    });
    std::fs::write(out.join("config.json"), config.to_string()).unwrap();
    let pooling = serde_json::json!({
        "embedding_dimension": hidden, "pooling_mode": "lasttoken", "include_prompt": true
    });
    std::fs::write(out.join("1_Pooling/config.json"), pooling.to_string()).unwrap();
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embed_tokens.weight".into(), vec![vocab, hidden]),
        ("norm.weight".into(), vec![hidden]),
    ];
    for i in 0..layers {
        let p = format!("layers.{i}");
        shapes.extend([
            (format!("{p}.input_layernorm.weight"), vec![hidden]),
            (format!("{p}.post_attention_layernorm.weight"), vec![hidden]),
            (
                format!("{p}.self_attn.q_proj.weight"),
                vec![heads * hd, hidden],
            ),
            (
                format!("{p}.self_attn.k_proj.weight"),
                vec![kv * hd, hidden],
            ),
            (
                format!("{p}.self_attn.v_proj.weight"),
                vec![kv * hd, hidden],
            ),
            (
                format!("{p}.self_attn.o_proj.weight"),
                vec![hidden, heads * hd],
            ),
            (format!("{p}.self_attn.q_norm.weight"), vec![hd]),
            (format!("{p}.self_attn.k_norm.weight"), vec![hd]),
            (format!("{p}.mlp.gate_proj.weight"), vec![inter, hidden]),
            (format!("{p}.mlp.up_proj.weight"), vec![inter, hidden]),
            (format!("{p}.mlp.down_proj.weight"), vec![hidden, inter]),
        ]);
    }
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(name, shape)| {
            let count: usize = shape.iter().product();
            let is_norm = shape.len() == 1;
            let bytes = (0..count)
                .flat_map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let u = (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0;
                    let v = if is_norm { 1.0 + 0.1 * u } else { 0.0346 * u };
                    v.to_le_bytes()
                })
                .collect();
            (name, shape, bytes)
        })
        .collect();
    let views: BTreeMap<String, TensorView> = data
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &out.join("model.safetensors")).unwrap();
    println!("wrote {}", out.display());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["make-random", out] => make_random(Path::new(out)),
        ["run", dir, tokens] => run(
            Path::new(dir),
            tokens.parse().expect("tokens"),
            Precision::Auto,
        ),
        ["run", dir, tokens, precision] => run(
            Path::new(dir),
            tokens.parse().expect("tokens"),
            precision.parse().expect("precision"),
        ),
        _ => eprintln!("usage: qwen3_long make-random DIR | run DIR TOKENS [auto|f32|bf16]"),
    }
}
