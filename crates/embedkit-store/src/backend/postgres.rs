//! The PostgreSQL backend, with the pgvector extension: the path to scale (replicas,
//! partitioning, Citus) for stores that outgrow one file.
//!
//! Layout, in one PostgreSQL schema per store (`embedkit` unless the URL says
//! `?schema=NAME`):
//! * `collections(id, name, spec)` and `documents(collection, id, hash, metadata JSONB,
//!   chunks)`, with a GIN index on the metadata for `metadata @> ...` filters;
//! * one chunk table per collection, `chunks_<id>`, because a pgvector column has one width:
//!   the text, a generated `tsvector` (full-text search, ranked by `ts_rank_cd`), and the
//!   vector as `vector(dims)` (f32) or `halfvec(dims)` (f16), with an HNSW index whose
//!   operator class is the collection's distance. pgvector has no int8 vectors: int8
//!   collections keep the int8-rounded values in a `vector` column, so they search exactly
//!   as the embedded store does but take f32 space.
//!
//! Every write is one transaction, serialized per collection by an advisory lock (as the
//! embedded store's single writer), so a batch is all or nothing; reads run in one
//! repeatable-read snapshot. Small collections (and deep result lists) are searched exactly
//! by a sequential scan, so both backends give the same answers where the index would only
//! approximate them.

mod tls;

use super::Backend;
use crate::codec;
use crate::collection::{Collection, Distance, Storage};
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::keywords::Keywords;
use crate::segment;
use crate::store::{Counts, Hit, StoredChunk, StoredDocument};
use pgvector::{HalfVector, Vector};
use postgres::types::ToSql;
use postgres::{Client, GenericClient, IsolationLevel, Transaction};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tls::TlsSettings;

/// 2: each chunk table has a `keywords` column, the text with Chinese cut into words
/// ([`segment`]), and `tsv` is computed from it; a version-1 store is migrated when opened.
const SCHEMA_VERSION: &str = "2";

/// Collections with at most this many chunks are always searched exactly.
const EXACT_UP_TO: i64 = 10_000;

/// pgvector's limits: `hnsw.ef_search` at most 1000; HNSW indexes up to 2000 dimensions
/// of `vector` and 4000 of `halfvec` (wider collections are searched exactly).
const MAX_EF_SEARCH: usize = 1000;

/// First key of the advisory locks this backend takes (the second is a hash of a
/// collection's schema and name, or 0 for creating tables): "embk" in ASCII.
const LOCK_SPACE: i32 = 0x656d_626b;

/// An open PostgreSQL store.
pub(crate) struct Postgres {
    client: Mutex<Client>,
}

/// A collection's settings with the number that names its chunk table.
struct Row {
    id: i32,
    spec: Collection,
}

impl Row {
    fn table(&self) -> String {
        format!("chunks_{}", self.id)
    }
}

impl Postgres {
    /// Connects to `url` (`postgres://...`, optionally with `schema=NAME` and libpq's
    /// `sslmode` / `sslrootcert` among its query parameters, see [`tls`]) and creates the
    /// store's tables if needed.
    pub(crate) fn open(url: &str) -> Result<Self> {
        let StoreUrl { url, schema, tls } = StoreUrl::parse(url)?;
        let shown = redact(&url);
        let connect_error = |why: String| Error::Connect {
            url: shown.clone(),
            why,
        };
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| connect_error(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.ssl_mode(tls.driver_mode());
        let mut client = config
            .connect(tls.connector()?)
            .map_err(|e| connect_error(error_text(&e)))?;
        setup(&mut client, &schema).map_err(|e| match e {
            Error::Postgres(e) => connect_error(error_text(&e)),
            other => other,
        })?;
        Ok(Self {
            client: Mutex::new(client),
        })
    }

    fn client(&self) -> MutexGuard<'_, Client> {
        // A panic elsewhere while holding the lock leaves no open transaction behind (the
        // transaction rolls back when dropped), so the connection is still usable.
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A store URL taken apart: what the `postgres` crate is given, and the parameters it does
/// not know.
struct StoreUrl {
    /// The URL without `schema`, `sslmode` and `sslrootcert`.
    url: String,
    /// `schema=NAME` (the default is `embedkit`).
    schema: String,
    tls: TlsSettings,
}

impl StoreUrl {
    fn parse(url: &str) -> Result<Self> {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut schema = "embedkit".to_string();
        let (mut sslmode, mut sslrootcert) = (None, None);
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", v)) => schema = v.to_string(),
                Some(("sslmode", v)) => sslmode = Some(percent_decode(v)?),
                Some(("sslrootcert", v)) => sslrootcert = Some(percent_decode(v)?),
                _ => rest.push(pair),
            }
        }
        let ok = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(Error::InvalidInput(format!(
                "bad schema {schema:?} in the store URL: use 1-63 lowercase ASCII letters, digits or '_'"
            )));
        }
        let url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let tls = TlsSettings::from_params(sslmode.as_deref(), sslrootcert.as_deref())?;
        Ok(Self { url, schema, tls })
    }
}

/// `%XX` escapes of a URL query value (a certificate path may need them), as the `postgres`
/// crate decodes the parameters it reads itself.
fn percent_decode(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3).unwrap_or_default();
            let byte = u8::from_str_radix(hex, 16).map_err(|_| {
                Error::InvalidInput(format!("bad %-escape in the store URL parameter {value:?}"))
            })?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::InvalidInput(format!("the store URL parameter {value:?} is not UTF-8")))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}")
        }
        _ => url.to_string(),
    }
}

/// The server's own message where there is one (the driver's wording is only "db error").
pub(crate) fn error_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => {
            let mut s = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                s = format!("{s}: {c}");
                cause = c.source();
            }
            s
        }
    }
}

fn setup(client: &mut Client, schema: &str) -> Result<()> {
    let mut tx = client.transaction()?;
    // Two first openings at once would both try to create the same tables.
    tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_SPACE])?;
    let has_vector = tx
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'vector'", &[])?
        .is_some();
    if !has_vector {
        if let Err(e) = tx.batch_execute("CREATE EXTENSION vector") {
            return Err(Error::InvalidInput(format!(
                "the database has no pgvector extension and it cannot be created ({}); \
                 install pgvector and run CREATE EXTENSION vector as a superuser \
                 (scripts/pgvector-setup.sh does both)",
                error_text(&e)
            )));
        }
    }
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         SET LOCAL search_path TO \"{schema}\";
         CREATE TABLE IF NOT EXISTS embedkit_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS collections(
             id SERIAL UNIQUE,
             name TEXT PRIMARY KEY,
             spec TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS documents(
             collection TEXT NOT NULL REFERENCES collections(name) ON DELETE CASCADE,
             id TEXT NOT NULL,
             hash TEXT NOT NULL,
             metadata JSONB NOT NULL,
             chunks INTEGER NOT NULL,
             PRIMARY KEY(collection, id));
         CREATE INDEX IF NOT EXISTS documents_metadata ON documents USING gin(metadata jsonb_path_ops);"
    ))?;
    let version: Option<String> = tx
        .query_opt("SELECT value FROM embedkit_meta WHERE key = 'schema'", &[])?
        .map(|r| r.get(0));
    match version.as_deref() {
        None => {
            tx.execute(
                "INSERT INTO embedkit_meta(key, value) VALUES('schema', $1)",
                &[&SCHEMA_VERSION],
            )?;
        }
        Some(SCHEMA_VERSION) => {}
        Some("1") => add_keywords_columns(&mut tx)?,
        Some(v) => {
            return Err(Error::InvalidInput(format!(
                "schema {schema:?} holds an embedkit store of version {v}; this build reads {SCHEMA_VERSION}"
            )))
        }
    }
    tx.commit()?;
    // The schema first, so our tables win; then the ones the pgvector types live in.
    let search_path: String = client
        .query_one("SELECT current_setting('search_path')", &[])?
        .get(0);
    client.batch_execute(&format!("SET search_path TO \"{schema}\", {search_path}"))?;
    Ok(())
}

/// Schema 1 → 2, inside the opening transaction: every chunk table gets its `keywords`
/// column (the texts segmented here), and `tsv` is recomputed from it.
fn add_keywords_columns(tx: &mut Transaction<'_>) -> Result<()> {
    let tables: Vec<String> = tx
        .query("SELECT id FROM collections", &[])?
        .iter()
        .map(|r| format!("chunks_{}", r.get::<_, i32>(0)))
        .collect();
    for table in tables {
        tx.batch_execute(&format!("ALTER TABLE {table} ADD COLUMN keywords TEXT"))?;
        let update = tx.prepare(&format!("UPDATE {table} SET keywords = $1 WHERE id = $2"))?;
        for row in tx.query(&format!("SELECT id, text FROM {table}"), &[])? {
            let (id, text): (i64, String) = (row.get(0), row.get(1));
            tx.execute(&update, &[&segment::index_text(&text).as_ref(), &id])?;
        }
        tx.batch_execute(&format!(
            "ALTER TABLE {table} ALTER COLUMN keywords SET NOT NULL;
             ALTER TABLE {table} DROP COLUMN tsv;
             ALTER TABLE {table} ADD COLUMN tsv TSVECTOR
                 GENERATED ALWAYS AS (to_tsvector('simple', keywords)) STORED;
             CREATE INDEX {table}_tsv ON {table} USING gin(tsv);"
        ))?;
    }
    tx.execute(
        "UPDATE embedkit_meta SET value = $1 WHERE key = 'schema'",
        &[&SCHEMA_VERSION],
    )?;
    Ok(())
}

fn row_of(conn: &mut impl GenericClient, name: &str) -> Result<Option<Row>> {
    conn.query_opt("SELECT id, spec FROM collections WHERE name = $1", &[&name])?
        .map(|r| {
            Ok(Row {
                id: r.get(0),
                spec: parse_spec(r.get(1))?,
            })
        })
        .transpose()
}

/// The row of a collection the caller has checked exists (it may have been dropped since).
fn existing(conn: &mut impl GenericClient, name: &str) -> Result<Row> {
    row_of(conn, name)?.ok_or_else(|| Error::UnknownCollection {
        name: name.to_string(),
        existing: "it was dropped meanwhile".into(),
    })
}

fn parse_spec(s: &str) -> Result<Collection> {
    serde_json::from_str(s)
        .map_err(|e| Error::InvalidInput(format!("damaged collection record {s:?}: {e}")))
}

/// A write transaction holding `collection`'s write lock.
fn write_tx<'a>(client: &'a mut Client, collection: &str) -> Result<(Transaction<'a>, Row)> {
    let mut tx = client.transaction()?;
    let row = existing(&mut tx, collection)?;
    // Keyed by schema and name: stores in other schemas of the database never wait.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || '.' || $2))",
        &[&LOCK_SPACE, &collection],
    )?;
    Ok((tx, row))
}

/// A read-only snapshot.
fn read_tx(client: &mut Client) -> Result<Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?)
}

/// SQL type, operator and HNSW operator class of a collection's vectors.
fn vector_sql(spec: &Collection) -> (&'static str, &'static str, &'static str) {
    let half = spec.storage == Storage::F16;
    match (spec.distance, half) {
        (Distance::Cosine, false) => ("vector", "<=>", "vector_cosine_ops"),
        (Distance::Dot, false) => ("vector", "<#>", "vector_ip_ops"),
        (Distance::L2, false) => ("vector", "<->", "vector_l2_ops"),
        (Distance::Cosine, true) => ("halfvec", "<=>", "halfvec_cosine_ops"),
        (Distance::Dot, true) => ("halfvec", "<#>", "halfvec_ip_ops"),
        (Distance::L2, true) => ("halfvec", "<->", "halfvec_l2_ops"),
    }
}

/// The store's score ("larger is closer") from pgvector's distance `d`.
fn score_sql(distance: Distance, d: &str) -> String {
    match distance {
        Distance::Cosine => format!("1 - ({d})"),
        // <#> is the negated inner product; <-> the Euclidean distance.
        Distance::Dot | Distance::L2 => format!("-({d})"),
    }
}

/// A vector as the parameter its column takes.
fn vector_param(spec: &Collection, v: &[f32]) -> Box<dyn ToSql + Sync> {
    match spec.storage {
        Storage::F32 => Box::new(Vector::from(v.to_vec())),
        Storage::F16 => Box::new(HalfVector::from_f32_slice(v)),
        Storage::Int8 => {
            let mut rounded = Vec::with_capacity(v.len());
            codec::decode_into(
                &codec::encode(v, Storage::Int8),
                v.len(),
                Storage::Int8,
                &mut rounded,
            );
            Box::new(Vector::from(rounded))
        }
    }
}

/// `filter` as SQL over `d.metadata`, its parameters numbered from `first`. A condition
/// holds when the key has the value as a string, or as the number / boolean it spells
/// (the same rule as [`Filter::matches`]).
fn filter_sql(filter: &Filter, first: usize) -> (String, Vec<String>) {
    let mut sql = String::from("TRUE");
    let mut params = Vec::new();
    for c in &filter.0 {
        let mut alternatives = vec![serde_json::json!({ c.key.clone(): c.value.clone() })];
        if let Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) =
            serde_json::from_str::<serde_json::Value>(&c.value)
        {
            let printed = v.to_string();
            if printed == c.value {
                alternatives.push(serde_json::json!({ c.key.clone(): v }));
            }
        }
        let terms: Vec<String> = alternatives
            .into_iter()
            .map(|a| {
                params.push(a.to_string());
                format!("d.metadata @> ${}::text::jsonb", first + params.len() - 1)
            })
            .collect();
        sql += &format!(" AND ({})", terms.join(" OR "));
    }
    (sql, params)
}

fn refs(params: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref()).collect()
}

fn hit(r: &postgres::Row) -> Hit {
    Hit {
        id: r.get(0),
        chunk: r.get::<_, i32>(1) as usize,
        text: r.get(2),
        metadata: serde_json::from_str(r.get(3)).unwrap_or(serde_json::Value::Null),
        score: r.get::<_, f64>(4) as f32,
    }
}

fn delete_documents(tx: &mut Transaction<'_>, row: &Row, ids: &[&str]) -> Result<usize> {
    let table = row.table();
    tx.execute(
        &format!("DELETE FROM {table} WHERE doc_id = ANY($1)"),
        &[&ids],
    )?;
    Ok(tx.execute(
        "DELETE FROM documents WHERE collection = $1 AND id = ANY($2)",
        &[&row.spec.name, &ids],
    )? as usize)
}

impl Backend for Postgres {
    fn create_collection(&self, spec: &Collection) -> Result<()> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_SPACE])?;
        if let Some(existing) = row_of(&mut tx, &spec.name)? {
            return existing.spec.check_same(spec);
        }
        let id: i32 = tx
            .query_one(
                "INSERT INTO collections(name, spec) VALUES($1, $2) RETURNING id",
                &[
                    &spec.name,
                    &serde_json::to_string(spec).expect("plain struct"),
                ],
            )?
            .get(0);
        let table = Row {
            id,
            spec: spec.clone(),
        }
        .table();
        let (ty, _, ops) = vector_sql(spec);
        tx.batch_execute(&format!(
            "CREATE TABLE {table}(
                 id BIGSERIAL PRIMARY KEY,
                 doc_id TEXT NOT NULL,
                 chunk INTEGER NOT NULL,
                 text TEXT NOT NULL,
                 keywords TEXT NOT NULL,
                 tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', keywords)) STORED,
                 embedding {ty}({dims}) NOT NULL);
             CREATE INDEX {table}_doc ON {table}(doc_id);
             CREATE INDEX {table}_tsv ON {table} USING gin(tsv);",
            dims = spec.dimensions
        ))?;
        let indexable = if ty == "halfvec" { 4000 } else { 2000 };
        if spec.dimensions <= indexable {
            tx.batch_execute(&format!(
                "CREATE INDEX {table}_hnsw ON {table} USING hnsw(embedding {ops})"
            ))?;
        }
        tx.commit()?;
        Ok(())
    }

    fn collection(&self, name: &str) -> Result<Option<Collection>> {
        Ok(row_of(&mut *self.client(), name)?.map(|r| r.spec))
    }

    fn collections(&self) -> Result<Vec<Collection>> {
        self.client()
            .query(
                "SELECT spec FROM collections ORDER BY name COLLATE \"C\"",
                &[],
            )?
            .iter()
            .map(|r| parse_spec(r.get(0)))
            .collect()
    }

    fn drop_collection(&self, name: &str) -> Result<()> {
        let mut client = self.client();
        let (mut tx, row) = write_tx(&mut client, name)?;
        tx.batch_execute(&format!("DROP TABLE {}", row.table()))?;
        // Its documents go with it (ON DELETE CASCADE).
        tx.execute("DELETE FROM collections WHERE name = $1", &[&name])?;
        tx.commit()?;
        Ok(())
    }

    fn hashes(&self, collection: &str, ids: &[&str]) -> Result<HashMap<String, String>> {
        Ok(self
            .client()
            .query(
                "SELECT id, hash FROM documents WHERE collection = $1 AND id = ANY($2)",
                &[&collection, &ids],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn upsert(&self, spec: &Collection, docs: &[StoredDocument]) -> Result<()> {
        let mut client = self.client();
        let (mut tx, row) = write_tx(&mut client, &spec.name)?;
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        delete_documents(&mut tx, &row, &ids)?;
        let insert_doc = tx.prepare(
            "INSERT INTO documents(collection, id, hash, metadata, chunks)
             VALUES($1, $2, $3, $4::text::jsonb, $5)
             ON CONFLICT (collection, id) DO UPDATE
             SET hash = EXCLUDED.hash, metadata = EXCLUDED.metadata, chunks = EXCLUDED.chunks",
        )?;
        let (ty, _, _) = vector_sql(&row.spec);
        let insert_chunk = tx.prepare(&format!(
            "INSERT INTO {}(doc_id, chunk, text, keywords, embedding) VALUES($1, $2, $3, $4, $5::{ty})",
            row.table()
        ))?;
        for d in docs {
            // A later document with the same id replaces an earlier one, as in SQLite.
            tx.execute(
                &format!("DELETE FROM {} WHERE doc_id = $1", row.table()),
                &[&d.id],
            )?;
            tx.execute(
                &insert_doc,
                &[
                    &spec.name,
                    &d.id,
                    &d.hash,
                    &d.metadata.to_string(),
                    &(d.chunks.len() as i32),
                ],
            )?;
            for (i, c) in d.chunks.iter().enumerate() {
                let mut v = c.vector.clone();
                if spec.normalized {
                    embedkit_core::vector::normalize(&mut v);
                }
                let vector = vector_param(&row.spec, &v);
                tx.execute(
                    &insert_chunk,
                    &[
                        &d.id,
                        &(i as i32),
                        &c.text,
                        &segment::index_text(&c.text).as_ref(),
                        vector.as_ref(),
                    ],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delete(&self, collection: &str, ids: &[&str]) -> Result<usize> {
        let mut client = self.client();
        let (mut tx, row) = write_tx(&mut client, collection)?;
        let n = delete_documents(&mut tx, &row, ids)?;
        tx.commit()?;
        Ok(n)
    }

    fn delete_where(&self, collection: &str, filter: &Filter) -> Result<usize> {
        let mut client = self.client();
        let (mut tx, row) = write_tx(&mut client, collection)?;
        let (cond, values) = filter_sql(filter, 2);
        let mut params: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(collection.to_string())];
        params.extend(
            values
                .into_iter()
                .map(|v| Box::new(v) as Box<dyn ToSql + Sync>),
        );
        let ids: Vec<String> = tx
            .query(
                &format!("SELECT d.id FROM documents d WHERE d.collection = $1 AND {cond}"),
                &refs(&params),
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let n = delete_documents(&mut tx, &row, &ids)?;
        tx.commit()?;
        Ok(n)
    }

    fn counts(&self, collection: &str) -> Result<Counts> {
        let mut client = self.client();
        let mut tx = read_tx(&mut client)?;
        let row = existing(&mut tx, collection)?;
        let documents: i64 = tx
            .query_one(
                "SELECT count(*) FROM documents WHERE collection = $1",
                &[&collection],
            )?
            .get(0);
        let chunks: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {}", row.table()), &[])?
            .get(0);
        tx.commit()?;
        Ok(Counts {
            documents: documents as usize,
            chunks: chunks as usize,
        })
    }

    fn document_chunks(&self, collection: &str) -> Result<Vec<(String, usize, usize)>> {
        let mut client = self.client();
        let mut tx = read_tx(&mut client)?;
        let Some(row) = row_of(&mut tx, collection)? else {
            return Ok(Vec::new());
        };
        let rows = tx.query(
            &format!(
                "SELECT d.id, d.chunks, (SELECT count(*) FROM {} c WHERE c.doc_id = d.id)
                 FROM documents d WHERE d.collection = $1 ORDER BY d.id COLLATE \"C\"",
                row.table()
            ),
            &[&collection],
        )?;
        tx.commit()?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get::<_, i32>(1) as usize,
                    r.get::<_, i64>(2) as usize,
                )
            })
            .collect())
    }

    /// Exact (a sequential scan) for small collections and result lists deeper than the
    /// index searches; otherwise the HNSW index, searching `2k` candidates (at least 40,
    /// pgvector's default) and, with a filter, going on until `k` pass it.
    fn documents(&self, spec: &Collection) -> Result<Vec<StoredDocument>> {
        let mut client = self.client();
        let mut tx = read_tx(&mut client)?;
        let row = existing(&mut tx, &spec.name)?;
        // Through `vector` (a no-op for f32 collections), as real[]: halfvec has no cast of
        // its own to an array.
        let rows = tx.query(
            &format!(
                "SELECT d.id, d.hash, d.metadata::text, c.text, c.embedding::vector::real[]
                 FROM documents d JOIN {} c ON c.doc_id = d.id
                 WHERE d.collection = $1 ORDER BY d.id COLLATE \"C\", c.chunk",
                row.table()
            ),
            &[&spec.name],
        )?;
        tx.commit()?;
        let mut docs: Vec<StoredDocument> = Vec::new();
        for r in &rows {
            let id: &str = r.get(0);
            if docs.last().is_none_or(|d| d.id != id) {
                docs.push(StoredDocument {
                    id: id.to_string(),
                    hash: r.get(1),
                    metadata: serde_json::from_str(r.get(2)).unwrap_or(serde_json::Value::Null),
                    chunks: Vec::new(),
                });
            }
            let doc = docs.last_mut().expect("pushed above");
            doc.chunks.push(StoredChunk {
                text: r.get(3),
                vector: r.get(4),
            });
        }
        Ok(docs)
    }

    fn search_vector(
        &self,
        spec: &Collection,
        q: &[f32],
        k: usize,
        filter: &Filter,
        exact: bool,
    ) -> Result<Vec<Hit>> {
        if k == 0 {
            return Ok(Vec::new());
        }
        let mut client = self.client();
        let mut tx = read_tx(&mut client)?;
        let row = existing(&mut tx, &spec.name)?;
        let table = row.table();
        let small: i64 = tx
            .query_one(
                &format!("SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT $1) s"),
                &[&(EXACT_UP_TO + 1)],
            )?
            .get(0);
        let exact = exact || small <= EXACT_UP_TO || k > MAX_EF_SEARCH;
        if exact {
            tx.batch_execute("SET LOCAL enable_indexscan = off")?;
        } else {
            let ef = (2 * k).clamp(40, MAX_EF_SEARCH);
            tx.batch_execute(&format!(
                "SET LOCAL hnsw.ef_search = {ef}; SET LOCAL hnsw.iterative_scan = strict_order"
            ))?;
        }
        let (_, op, _) = vector_sql(&row.spec);
        let distance = format!("c.embedding {op} $1");
        let score = score_sql(spec.distance, &distance);
        let (cond, values) = filter_sql(filter, 4);
        // The index serves only ORDER BY the bare distance; the exact scan also breaks ties
        // by insertion order, as the embedded store does.
        let order = if exact {
            format!("{distance}, c.id")
        } else {
            distance.clone()
        };
        let mut params = vec![vector_param(&row.spec, q)];
        params.push(Box::new(spec.name.clone()));
        params.push(Box::new(k as i64));
        params.extend(
            values
                .into_iter()
                .map(|v| Box::new(v) as Box<dyn ToSql + Sync>),
        );
        let rows = tx.query(
            &format!(
                "SELECT c.doc_id, c.chunk, c.text, d.metadata::text, ({score})::float8
                 FROM {table} c JOIN documents d ON d.collection = $2 AND d.id = c.doc_id
                 WHERE {cond} ORDER BY {order} LIMIT $3"
            ),
            &refs(&params),
        )?;
        tx.commit()?;
        Ok(rows.iter().map(hit).collect())
    }

    /// PostgreSQL full-text search (the `simple` configuration: lowercased words, no
    /// stemming or stop words, like the embedded store's tokenizer), ranked by
    /// `ts_rank_cd` (cover density).
    fn search_text(
        &self,
        collection: &str,
        words: &Keywords,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<Hit>> {
        let mut client = self.client();
        let mut tx = read_tx(&mut client)?;
        let row = existing(&mut tx, collection)?;
        let (cond, values) = filter_sql(filter, 4);
        let mut params: Vec<Box<dyn ToSql + Sync>> = vec![
            Box::new(words.any_of('\'', " | ")),
            Box::new(collection.to_string()),
            Box::new(k as i64),
        ];
        params.extend(
            values
                .into_iter()
                .map(|v| Box::new(v) as Box<dyn ToSql + Sync>),
        );
        let rows = tx.query(
            &format!(
                "SELECT c.doc_id, c.chunk, c.text, d.metadata::text, ts_rank_cd(c.tsv, q)::float8 AS score
                 FROM {table} c JOIN documents d ON d.collection = $2 AND d.id = c.doc_id,
                      to_tsquery('simple', $1) q
                 WHERE c.tsv @@ q AND {cond} ORDER BY score DESC, c.id LIMIT $3",
                table = row.table()
            ),
            &refs(&params),
        )?;
        tx.commit()?;
        Ok(rows.iter().map(hit).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_and_tls_come_out_of_the_url() {
        let parsed =
            StoreUrl::parse("postgres://u@h:5/db?schema=kb_1&connect_timeout=3&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem")
                .unwrap();
        assert_eq!(
            (parsed.url.as_str(), parsed.schema.as_str()),
            ("postgres://u@h:5/db?connect_timeout=3", "kb_1")
        );
        assert_eq!(
            parsed.tls,
            TlsSettings::from_params(Some("verify-full"), Some("/etc/ca x.pem")).unwrap()
        );
        let parsed = StoreUrl::parse("postgres://u@h/db").unwrap();
        assert_eq!(
            (parsed.url.as_str(), parsed.schema.as_str()),
            ("postgres://u@h/db", "embedkit")
        );
        assert_eq!(parsed.tls, TlsSettings::from_params(None, None).unwrap());
        assert!(StoreUrl::parse("postgres://h/db?schema=a;drop").is_err());
        assert!(StoreUrl::parse("postgres://h/db?sslmode=on").is_err());
        assert!(StoreUrl::parse("postgres://h/db?sslrootcert=%zz").is_err());
        assert_eq!(
            redact("postgres://me:secret@h/db"),
            "postgres://me:***@h/db"
        );
    }

    #[test]
    fn filters_become_containment_tests() {
        let f = Filter::parse(&["lang=en", "year=2001", "ok=true", "v=1.0"]).unwrap();
        let (sql, params) = filter_sql(&f, 3);
        assert_eq!(
            sql,
            "TRUE AND (d.metadata @> $3::text::jsonb) AND (d.metadata @> $4::text::jsonb OR d.metadata @> $5::text::jsonb) \
             AND (d.metadata @> $6::text::jsonb OR d.metadata @> $7::text::jsonb) AND (d.metadata @> $8::text::jsonb OR d.metadata @> $9::text::jsonb)"
        );
        assert_eq!(
            params,
            [
                r#"{"lang":"en"}"#,
                r#"{"year":"2001"}"#,
                r#"{"year":2001}"#,
                r#"{"ok":"true"}"#,
                r#"{"ok":true}"#,
                r#"{"v":"1.0"}"#,
                r#"{"v":1.0}"#
            ]
        );
    }
}
