//! The webhook's own certificates: a CA, and a serving certificate signed by it for the
//! Service's DNS names (and the IPs of a URL registration), generated with rcgen. Pure apart
//! from key generation: [`Bundle`] is what the Secret holds, [`plan`] says whether a bundle
//! is still good at a given time or which part must be renewed, and [`renew`] produces the
//! next bundle. The CA is rotated with an overlap: the new CA and the old one both stay in
//! `ca.crt` (the caBundle) until the old one expires, so callers trusting either keep working.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

use crate::{Error, Result};

/// Keys of the Secret, as cert-manager and MetalLB use them.
pub const CA_CERT_KEY: &str = "ca.crt";
pub const CA_KEY_KEY: &str = "ca.key";
pub const TLS_CERT_KEY: &str = "tls.crt";
pub const TLS_KEY_KEY: &str = "tls.key";

/// What the certificate must name: the Service's DNS names and any IP the API server dials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
}

impl Names {
    /// `<service>`, `<service>.<namespace>`, `<service>.<namespace>.svc` and the cluster-local
    /// form, plus `ips`.
    pub fn for_service(service: &str, namespace: &str, ips: Vec<IpAddr>) -> Self {
        Self {
            dns: vec![
                service.to_owned(),
                format!("{service}.{namespace}"),
                format!("{service}.{namespace}.svc"),
                format!("{service}.{namespace}.svc.cluster.local"),
            ],
            ips,
        }
    }
}

/// PEM texts of the CA (current first, then a previous one still valid) and the serving pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub ca_cert: String,
    pub ca_key: String,
    pub cert: String,
    pub key: String,
}

/// How long certificates live. The serving certificate is renewed once two thirds of its
/// life have passed, the CA likewise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    pub ca: Duration,
    pub serving: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            ca: Duration::from_secs(10 * 365 * 24 * 3600),
            serving: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// What to do with a bundle found in the Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// It is good; the next check is due at this time.
    Keep { renew_at: SystemTime },
    /// The serving certificate must be reissued (close to expiry, or names changed).
    RenewServing,
    /// The CA itself must be replaced (close to expiry, or unreadable).
    RenewCa,
}

/// Decides what a bundle needs at `now`.
pub fn plan(bundle: &Bundle, names: &Names, lifetimes: Lifetimes, now: SystemTime) -> Plan {
    let Ok(ca) = parse_first(&bundle.ca_cert, CA_CERT_KEY) else {
        return Plan::RenewCa;
    };
    if KeyPair::from_pem(&bundle.ca_key).is_err() {
        return Plan::RenewCa;
    }
    let ca_renew_at = renew_time(&ca, lifetimes.ca);
    if now >= ca_renew_at {
        return Plan::RenewCa;
    }
    let Ok(serving) = parse_first(&bundle.cert, TLS_CERT_KEY) else {
        return Plan::RenewServing;
    };
    if KeyPair::from_pem(&bundle.key).is_err()
        || serving.names != *names
        || serving.issuer != ca.subject
    {
        return Plan::RenewServing;
    }
    let serving_renew_at = renew_time(&serving, lifetimes.serving);
    if now >= serving_renew_at {
        return Plan::RenewServing;
    }
    Plan::Keep {
        renew_at: serving_renew_at.min(ca_renew_at),
    }
}

/// The bundle after applying `plan` to `current` (or a new one when there is none).
pub fn renew(
    current: Option<&Bundle>,
    plan: &Plan,
    names: &Names,
    lifetimes: Lifetimes,
    now: SystemTime,
) -> Result<Bundle> {
    let (ca_cert, ca_key) = match (current, plan) {
        (Some(bundle), Plan::RenewServing | Plan::Keep { .. }) => {
            (bundle.ca_cert.clone(), bundle.ca_key.clone())
        }
        _ => {
            let (cert, key) = new_ca(lifetimes.ca, now)?;
            // The previous CA stays trusted until it expires, so servers still presenting a
            // certificate it signed (other replicas, not yet reloaded) keep being accepted.
            let previous = current
                .and_then(|b| parse_first(&b.ca_cert, CA_CERT_KEY).ok().map(|p| (p, b)))
                .filter(|(parsed, _)| parsed.not_after > now)
                .map(|(_, b)| first_pem(&b.ca_cert))
                .unwrap_or_default();
            (format!("{cert}{previous}"), key)
        }
    };
    let (cert, key) = new_serving(&ca_cert, &ca_key, names, lifetimes.serving, now)?;
    Ok(Bundle {
        ca_cert,
        ca_key,
        cert,
        key,
    })
}

fn new_ca(lifetime: Duration, now: SystemTime) -> Result<(String, String)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        format!("ferrolb-webhook-ca-{}", unix_nanos(now)),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, lifetime, now);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn new_serving(
    ca_cert: &str,
    ca_key: &str,
    names: &Names,
    lifetime: Duration,
    now: SystemTime,
) -> Result<(String, String)> {
    let ca_key = KeyPair::from_pem(ca_key)?;
    let issuer = Issuer::from_ca_cert_pem(&first_pem(ca_cert), ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(names.dns.clone())?;
    params
        .subject_alt_names
        .extend(names.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names
            .dns
            .first()
            .cloned()
            .unwrap_or_else(|| "ferrolb-webhook".into()),
    );
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, lifetime, now);
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn set_validity(params: &mut CertificateParams, lifetime: Duration, now: SystemTime) {
    // Slack for clocks that lag ours: a minute, or a tenth of a short life, so the renewal
    // point (two thirds of the validity) stays in the future.
    let start = OffsetDateTime::from(now) - (lifetime / 10).min(Duration::from_secs(60));
    params.not_before = start;
    params.not_after = OffsetDateTime::from(now) + lifetime;
}

/// The fields of a certificate the plan looks at.
struct Parsed {
    not_before: SystemTime,
    not_after: SystemTime,
    names: Names,
    subject: String,
    issuer: String,
}

fn renew_time(cert: &Parsed, nominal: Duration) -> SystemTime {
    let life = cert
        .not_after
        .duration_since(cert.not_before)
        .unwrap_or(nominal);
    cert.not_before + life * 2 / 3
}

/// The first PEM block of a text holding several.
fn first_pem(text: &str) -> String {
    const END: &str = "-----END CERTIFICATE-----";
    match text.find(END) {
        Some(i) => format!("{}\n", &text[..i + END.len()]),
        None => text.to_owned(),
    }
}

fn parse_first(text: &str, what: &'static str) -> Result<Parsed> {
    let fail = |why: String| Error::ReadCertificate { what, why };
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(text.as_bytes()).map_err(|e| fail(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| fail(e.to_string()))?;
    let time = |t: x509_parser::time::ASN1Time| {
        SystemTime::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(t.timestamp()).unwrap_or_default())
    };
    let mut names = Names {
        dns: Vec::new(),
        ips: Vec::new(),
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => names.dns.push((*d).to_owned()),
                x509_parser::extensions::GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        names.ips.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        names.ips.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(Parsed {
        not_before: time(cert.validity().not_before),
        not_after: time(cert.validity().not_after),
        names,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
    })
}

/// When a certificate expires (the first one of a PEM text).
pub fn not_after(pem: &str) -> Result<SystemTime> {
    parse_first(pem, TLS_CERT_KEY).map(|p| p.not_after)
}

/// When a DER-encoded certificate expires.
pub fn not_after_der(der: &[u8]) -> Result<SystemTime> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).map_err(|e| {
        Error::ReadCertificate {
            what: TLS_CERT_KEY,
            why: e.to_string(),
        }
    })?;
    let seconds = u64::try_from(cert.validity().not_after.timestamp()).unwrap_or_default();
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Distinguishes the CAs of successive rotations by name.
fn unix_nanos(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests;
