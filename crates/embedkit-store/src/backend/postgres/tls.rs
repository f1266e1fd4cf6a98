//! TLS for PostgreSQL connections, with the `sslmode` and `sslrootcert` URL parameters
//! meaning what they mean to libpq (`psql`, every PostgreSQL driver built on it):
//!
//! | `sslmode`     | encrypted                  | server's certificate checked          |
//! |---------------|----------------------------|---------------------------------------|
//! | `disable`     | no                         | -                                     |
//! | `prefer`      | if the server offers TLS   | no (the default, as libpq's)          |
//! | `require`     | yes                        | no, unless `sslrootcert` is given     |
//! | `verify-ca`   | yes                        | signed by a trusted CA                |
//! | `verify-full` | yes                        | signed by a trusted CA, for this host |
//!
//! Trusted CAs are the PEM certificates in `sslrootcert=PATH`, or the system's store when it is
//! absent or `sslrootcert=system`. (libpq reads `~/.postgresql/root.crt` by default; a file
//! in the home folder that nobody remembers is a worse default for a server than the
//! system's store, and `sslrootcert` names any file.)
//!
//! The `postgres` crate parses only `disable`, `prefer` and `require` and knows no root
//! certificates, so both parameters are taken out of the URL here and become the connector.

use crate::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How a connection uses TLS (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(Error::InvalidInput(format!(
                    "bad sslmode {other:?} in the store URL: use disable, prefer, require, \
                     verify-ca or verify-full"
                )))
            }
        })
    }
}

/// Where the trusted CA certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RootCerts {
    System,
    File(PathBuf),
}

/// The TLS settings of a store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    pub(crate) mode: SslMode,
    /// `None` when the URL names no `sslrootcert`.
    pub(crate) roots: Option<RootCerts>,
}

impl TlsSettings {
    /// From the values of `sslmode` and `sslrootcert` (percent-decoded), where given.
    pub(crate) fn from_params(sslmode: Option<&str>, sslrootcert: Option<&str>) -> Result<Self> {
        let mode = sslmode.map_or(Ok(SslMode::Prefer), SslMode::parse)?;
        let roots = sslrootcert.map(|v| match v {
            "system" => RootCerts::System,
            path => RootCerts::File(PathBuf::from(path)),
        });
        Ok(Self { mode, roots })
    }

    /// What the `postgres` crate is told: it negotiates, the connector verifies.
    pub(crate) fn driver_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        }
    }

    /// The connector that checks the server's certificate as the mode says.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect> {
        // One provider for this connector, not rustls' process-wide default, which another
        // part of the program may set differently (or not at all).
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::InvalidInput(format!("TLS set-up failed: {e}")))?;
        // libpq: `require` with a root certificate file given behaves as `verify-ca`.
        let mode = match (self.mode, &self.roots) {
            (SslMode::Require, Some(RootCerts::File(_))) => SslMode::VerifyCa,
            (mode, _) => mode,
        };
        let config = match mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider }))
                .with_no_client_auth(),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(self.root_store()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| Error::InvalidInput(format!("TLS set-up failed: {e}")))?;
                if mode == SslMode::VerifyFull {
                    builder.with_webpki_verifier(webpki).with_no_client_auth()
                } else {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(AnyHostName { webpki }))
                        .with_no_client_auth()
                }
            }
        };
        Ok(MakeRustlsConnect::new(config))
    }

    fn root_store(&self) -> Result<RootCertStore> {
        let mut store = RootCertStore::empty();
        match self.roots.as_ref().unwrap_or(&RootCerts::System) {
            RootCerts::File(path) => {
                let shown = path.display();
                let bad = |why: String| {
                    Error::InvalidInput(format!("cannot read sslrootcert {shown}: {why}"))
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| bad(e.to_string()))?
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("no PEM certificate in it".into()));
                }
                for cert in certs {
                    store.add(cert).map_err(|e| bad(e.to_string()))?;
                }
            }
            RootCerts::System => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = store.add_parsable_certificates(found.certs);
                if added == 0 {
                    let why = found
                        .errors
                        .first()
                        .map_or("none found".to_string(), ToString::to_string);
                    return Err(Error::InvalidInput(format!(
                        "no system CA certificates to verify the server with ({why}); \
                         name a CA file with sslrootcert=PATH"
                    )));
                }
            }
        }
        Ok(store)
    }
}

/// `verify-ca`: the certificate chain must lead to a trusted CA, whatever host it names
/// (rustls checks both together, so a wrong name alone is forgiven here).
#[derive(Debug)]
struct AnyHostName {
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, but any certificate is accepted (libpq's meaning of
/// these modes; the handshake's own signatures are still checked).
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_libpq_names_them() {
        let s = TlsSettings::from_params(None, None).unwrap();
        assert_eq!(s.mode, SslMode::Prefer);
        assert_eq!(s.driver_mode(), postgres::config::SslMode::Prefer);
        let s = TlsSettings::from_params(Some("verify-full"), Some("system")).unwrap();
        assert_eq!(s.mode, SslMode::VerifyFull);
        assert_eq!(s.roots, Some(RootCerts::System));
        assert_eq!(s.driver_mode(), postgres::config::SslMode::Require);
        let s = TlsSettings::from_params(Some("disable"), Some("/x/ca.pem")).unwrap();
        assert_eq!(s.driver_mode(), postgres::config::SslMode::Disable);
        assert_eq!(s.roots, Some(RootCerts::File("/x/ca.pem".into())));
        let e = TlsSettings::from_params(Some("allow"), None).unwrap_err();
        assert!(e.to_string().contains("verify-full"), "{e}");
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        for (path, why) in [
            (dir.path().join("absent.pem"), ""),
            (empty.clone(), "no PEM certificate"),
        ] {
            let s = TlsSettings::from_params(Some("verify-full"), path.to_str()).unwrap();
            let e = s.connector().err().expect("an error").to_string();
            assert!(
                e.contains(&path.display().to_string()) && e.contains(why),
                "{e}"
            );
        }
    }
}
