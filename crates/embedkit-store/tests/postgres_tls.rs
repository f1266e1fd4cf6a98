//! TLS to PostgreSQL, against the test server that `scripts/pgvector-setup.sh` starts with a
//! certificate for `localhost` signed by its own CA (`EMBEDKIT_TEST_POSTGRES_CA`): each
//! `sslmode` connects, or refuses, as libpq's does, and the server itself reports whether the
//! store's connection is encrypted (`pg_stat_ssl`).

use embedkit_store::testing::TestSchema;
use embedkit_store::Store;

struct Server {
    /// `postgres://...@127.0.0.1:PORT/...`, without TLS parameters.
    url: String,
    ca: String,
}

fn server() -> Option<Server> {
    let url = std::env::var("EMBEDKIT_TEST_POSTGRES_URL").ok()?;
    let Ok(ca) = std::env::var("EMBEDKIT_TEST_POSTGRES_CA") else {
        eprintln!("EMBEDKIT_TEST_POSTGRES_CA is not set: PostgreSQL TLS is not tested");
        return None;
    };
    Some(Server { url, ca })
}

/// Opens a store with `params` added to a fresh schema's URL (host 127.0.0.1, or `localhost`
/// when `by_name`) and says whether the server sees its connection as encrypted.
fn open(server: &Server, by_name: bool, params: &str) -> Result<bool, String> {
    let schema = TestSchema::new(&server.url, "tls");
    let app = format!("embedkit_tls_{}", std::process::id());
    let mut url = format!("{}&application_name={app}{params}", schema.url());
    if by_name {
        url = url.replace("@127.0.0.1:", "@localhost:");
    }
    let store = Store::open(&url).map_err(|e| e.to_string())?;
    // Proof that the store's connection went through: it made the schema's tables.
    assert!(store.collections().map_err(|e| e.to_string())?.is_empty());
    let mut admin = postgres::Client::connect(&server.url, postgres::NoTls).unwrap();
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&app],
        )
        .unwrap();
    assert_eq!(rows.len(), 1, "one connection of the store");
    Ok(rows[0].get(0))
}

#[test]
fn sslmodes_encrypt_and_verify_as_libpq() {
    let Some(server) = server() else { return };
    let ca = &server.ca;
    // The CA signed the certificate, which names localhost: verify-full by name works.
    let full = format!("&sslmode=verify-full&sslrootcert={ca}");
    assert_eq!(open(&server, true, &full), Ok(true));
    // ... not by address: the certificate does not name 127.0.0.1.
    let e = open(&server, false, &full).unwrap_err();
    assert!(
        e.contains("cannot connect") && e.contains("not valid for name \"127.0.0.1\""),
        "{e}"
    );
    // verify-ca checks the chain only.
    let ca_only = format!("&sslmode=verify-ca&sslrootcert={ca}");
    assert_eq!(open(&server, false, &ca_only), Ok(true));
    // The system's CAs did not sign this test certificate.
    let e = open(&server, true, "&sslmode=verify-full").unwrap_err();
    assert!(
        e.contains("UnknownIssuer") || e.contains("no system CA"),
        "{e}"
    );
    // require encrypts without verifying; with a CA file it verifies the chain (libpq).
    assert_eq!(open(&server, false, "&sslmode=require"), Ok(true));
    let other_ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other_ca.path(), other_ca_pem()).unwrap();
    let e = open(
        &server,
        false,
        &format!("&sslmode=require&sslrootcert={}", other_ca.path().display()),
    )
    .unwrap_err();
    assert!(
        e.contains("UnknownIssuer") || e.contains("BadSignature"),
        "{e}"
    );
    // The default, prefer, takes TLS where the server offers it; disable never does.
    assert_eq!(open(&server, false, ""), Ok(true));
    assert_eq!(open(&server, false, "&sslmode=disable"), Ok(false));
    // A CA file that is not there is named.
    let e = open(
        &server,
        true,
        "&sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    )
    .unwrap_err();
    assert!(e.contains("/nonexistent/ca.pem"), "{e}");
}

/// A self-signed CA certificate (P-256, made with `openssl req -x509`, valid until 2126) that
/// signed nothing the test server has.
fn other_ca_pem() -> &'static str {
    "-----BEGIN CERTIFICATE-----
MIIBgTCCASegAwIBAgIUcgeNNAfHdItiRfkMcbQbx2chi/QwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKYW5vdGhlciBDQTAgFw0yNjEyMDYwNjIyMzlaGA8yMTI2MTEx
MjA2MjIzOVowFTETMBEGA1UEAwwKYW5vdGhlciBDQTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABJlNtxSyJ+wo/E3CB+Az9DPRbTjOeJiH5QsRzXGgxXhJg6J7Q0Jj
Xli6TjLWUY5PWtaD9+4t5f+ERbBEtZcZncWjUzBRMB0GA1UdDgQWBBR0WZfLPu82
fJdlfYjc00YpOH4gXDAfBgNVHSMEGDAWgBR0WZfLPu82fJdlfYjc00YpOH4gXDAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIBH4Z9mvp7DxI6MesoPs
CjdZlqr9In1lCu7nX5PDtoOlAiEA/+gfeO/ipeMO6j62Cepnauu3XQS+D2Uf6Gss
/r4cXSI=
-----END CERTIFICATE-----
"
}
