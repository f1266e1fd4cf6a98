//! Test support for crates that run their tests against a real PostgreSQL server (feature
//! `testing`): a schema of its own per test, so tests running in parallel, and runs after a
//! failed one, never see each other's data.

use std::sync::atomic::{AtomicUsize, Ordering};

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
