//! Test support for crates that test against stores (feature `testing`): the backends to run
//! against, a fresh store per test, and on PostgreSQL a schema of its own per test, so tests
//! running in parallel, and runs after a failed one, never see each other's data.

use crate::Store;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The store URLs a test runs against: always the embedded backend (a placeholder that
/// [`fresh_store`] turns into a new file), and PostgreSQL when `EMBEDKIT_TEST_POSTGRES_URL`
/// names a server with pgvector (`scripts/test.sh` sets one up).
pub fn store_urls() -> Vec<String> {
    let mut urls = vec!["sqlite".to_string()];
    match std::env::var("EMBEDKIT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => urls.push(url),
        _ => {
            eprintln!("EMBEDKIT_TEST_POSTGRES_URL is not set: the PostgreSQL backend is not tested")
        }
    }
    urls
}

/// A new, empty store for `url` (from [`store_urls`]); the guard keeps its folder alive. On
/// PostgreSQL each call gets a schema of its own, and the guard drops it (with everything in
/// it) when the test is done, failed or not.
///
/// # Panics
/// When the store cannot be made: this is for tests.
pub fn fresh_store(url: &str) -> (Scratch, Store) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let (store, schema) = match url {
        "sqlite" => (
            Store::open(&dir.path().join("kb.db").display().to_string()).expect("a new store"),
            None,
        ),
        server => {
            let schema = TestSchema::new(server, "t");
            (
                Store::open(&schema.url()).expect("a new schema"),
                Some(schema),
            )
        }
    };
    (
        Scratch {
            _dir: dir,
            _schema: schema,
        },
        store,
    )
}

/// What a fresh store leaves behind: its folder, and its PostgreSQL schema, both removed on
/// drop (after the store, which the caller binds after this guard).
pub struct Scratch {
    _dir: tempfile::TempDir,
    _schema: Option<TestSchema>,
}

/// A PostgreSQL schema no other test uses, dropped with everything in it on drop (also when
/// the test fails). The store creates it when it first opens [`TestSchema::url`].
pub struct TestSchema {
    server: String,
    name: String,
}

impl TestSchema {
    /// A new schema on `server` (a `postgres://` URL), its name starting with `prefix`.
    pub fn new(server: &str, prefix: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        TestSchema {
            server: server.to_string(),
            name: format!(
                "{prefix}_{}_{nanos}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    /// The store URL that selects this schema.
    pub fn url(&self) -> String {
        let sep = if self.server.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.server, self.name)
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let dropped = postgres::Client::connect(&self.server, postgres::NoTls).and_then(|mut c| {
            c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test schema {}: {e}", self.name);
        }
    }
}
