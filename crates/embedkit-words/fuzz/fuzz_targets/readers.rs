//! Every reader on arbitrary bytes: errors are fine, panics are bugs.
#![no_main]

use embedkit_words::format::{self, fasttext::FastTextModel, word2vec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = format::detect(data);
    let _ = word2vec::read_text(data, true);
    let _ = word2vec::read_text(data, false);
    let _ = word2vec::read_binary(data);
    if let Ok(model) = FastTextModel::read(data) {
        if let Ok(v) = model.into_word_vectors() {
            let _ = v.vector("fuzz");
        }
    }
});
