//! CertificateSigningRequests: reading `spec.request` (a PEM
//! `CERTIFICATE REQUEST`, PKCS#10 in DER) for what the API server's
//! validation and kube-controller-manager's signers and approver look at
//! (`ParseCSR`, `ValidateKubeletServingCSR`, `ValidateKubeletClientCSR`,
//! `validAPIServerClientUsages`), and the certificate a signer issues.
//! The request's signature is not checked and no key signs what is issued
//! (README, "Where the simulation simplifies").

use base64::Engine as _;

pub const KUBE_APISERVER_CLIENT: &str = "kubernetes.io/kube-apiserver-client";
pub const KUBE_APISERVER_CLIENT_KUBELET: &str = "kubernetes.io/kube-apiserver-client-kubelet";
pub const KUBELET_SERVING: &str = "kubernetes.io/kubelet-serving";
pub const LEGACY_UNKNOWN: &str = "kubernetes.io/legacy-unknown";

/// What the signers and the approver read from a certificate request.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CertificateRequest {
    pub common_name: String,
    pub serial_number: String,
    pub organizations: Vec<String>,
    pub organizational_units: Vec<String>,
    pub countries: Vec<String>,
    pub localities: Vec<String>,
    pub provinces: Vec<String>,
    pub street_addresses: Vec<String>,
    pub postal_codes: Vec<String>,
    pub dns_names: Vec<String>,
    /// As Go's `net.IP.String` writes them.
    pub ip_addresses: Vec<String>,
    pub email_addresses: Vec<String>,
    pub uris: Vec<String>,
}

/// Go's `pem.Decode` of the first block: its type and body, or `None`
/// when the data holds no well-formed block.
fn pem_block(data: &[u8]) -> Option<(String, Vec<u8>, bool)> {
    let text = std::str::from_utf8(data).ok()?;
    let start = text.find("-----BEGIN ")?;
    let rest = &text[start + "-----BEGIN ".len()..];
    let type_end = rest.find("-----")?;
    let block_type = &rest[..type_end];
    if block_type.contains('\n') {
        return None;
    }
    let body_start = &rest[type_end + 5..];
    let end_marker = format!("-----END {block_type}-----");
    let body_end = body_start.find(&end_marker)?;
    let body = &body_start[..body_end];
    let has_headers = body.lines().any(|l| l.contains(':'));
    let joined: String = body.lines().filter(|l| !l.contains(':')).flat_map(|l| l.trim().chars()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(joined).ok()?;
    Some((block_type.to_string(), bytes, has_headers))
}

/// One DER element: its tag and contents, and what follows it.
fn der_element(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The elements inside a constructed element's contents.
fn der_children(mut data: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tag, contents, rest) = der_element(data)?;
        out.push((tag, contents));
        data = rest;
    }
    Some(out)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OID_EXTENSION_REQUEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// `ParseCSR` (`pkg/apis/certificates`): the first PEM block must be a
/// `CERTIFICATE REQUEST`, its body a PKCS#10 request.
pub fn parse_request(pem: &[u8]) -> Result<CertificateRequest, String> {
    let der = match pem_block(pem) {
        Some((block_type, der, _)) if block_type == "CERTIFICATE REQUEST" => der,
        _ => return Err("PEM block type must be CERTIFICATE REQUEST".to_string()),
    };
    parse_der(&der).ok_or_else(|| "asn1: structure error: the CERTIFICATE REQUEST block does not hold a PKCS#10 request".to_string())
}

fn parse_der(der: &[u8]) -> Option<CertificateRequest> {
    let (tag, outer, trailing) = der_element(der)?;
    if tag != SEQUENCE || !trailing.is_empty() {
        return None;
    }
    let parts = der_children(outer)?;
    // CertificationRequestInfo, signature algorithm, signature.
    if parts.len() != 3 || parts[0].0 != SEQUENCE || parts[1].0 != SEQUENCE || parts[2].0 != 0x03 {
        return None;
    }
    let info = der_children(parts[0].1)?;
    // version, subject, subjectPKInfo, [0] attributes.
    if info.len() < 3 || info[0].0 != 0x02 || info[1].0 != SEQUENCE || info[2].0 != SEQUENCE {
        return None;
    }
    let mut request = CertificateRequest::default();
    for (rdn_tag, rdn) in der_children(info[1].1)? {
        if rdn_tag != SET {
            return None;
        }
        for (atv_tag, atv) in der_children(rdn)? {
            let pair = der_children(atv)?;
            if atv_tag != SEQUENCE || pair.len() != 2 || pair[0].0 != OID {
                return None;
            }
            let value = String::from_utf8_lossy(pair[1].1).into_owned();
            // `pkix.Name.FillFromRDNSequence`: attributes under 2.5.4.
            match pair[0].1 {
                [0x55, 0x04, 0x03] => request.common_name = value,
                [0x55, 0x04, 0x05] => request.serial_number = value,
                [0x55, 0x04, 0x06] => request.countries.push(value),
                [0x55, 0x04, 0x07] => request.localities.push(value),
                [0x55, 0x04, 0x08] => request.provinces.push(value),
                [0x55, 0x04, 0x09] => request.street_addresses.push(value),
                [0x55, 0x04, 0x0a] => request.organizations.push(value),
                [0x55, 0x04, 0x0b] => request.organizational_units.push(value),
                [0x55, 0x04, 0x11] => request.postal_codes.push(value),
                _ => {}
            }
        }
    }
    if let Some(&(0xa0, attributes)) = info.get(3) {
        for (_, attribute) in der_children(attributes)? {
            let pair = der_children(attribute)?;
            if pair.len() != 2 || pair[0].1 != OID_EXTENSION_REQUEST {
                continue;
            }
            for (_, extensions) in der_children(pair[1].1)? {
                for (_, extension) in der_children(extensions)? {
                    let fields = der_children(extension)?;
                    let (Some(&(OID, oid)), Some(&(0x04, value))) = (fields.first(), fields.last()) else { return None };
                    if oid != OID_SUBJECT_ALT_NAME {
                        continue;
                    }
                    let (_, names, _) = der_element(value)?;
                    for (name_tag, name) in der_children(names)? {
                        match name_tag {
                            0x82 => request.dns_names.push(String::from_utf8_lossy(name).into_owned()),
                            0x87 => request.ip_addresses.push(ip_text(name)?),
                            0x81 => request.email_addresses.push(String::from_utf8_lossy(name).into_owned()),
                            0x86 => request.uris.push(String::from_utf8_lossy(name).into_owned()),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    Some(request)
}

/// An IP address SAN as Go's `net.IP.String` writes it.
fn ip_text(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(std::net::Ipv4Addr::from(v4).to_string());
    }
    let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => v6.to_string(),
    })
}

/// `validateCertificate`: what `status.certificate` may hold, checked
/// as PEM only (its DER is not read as X.509 here).
pub fn validate_certificate_pem(data: &[u8]) -> Result<(), String> {
    if data.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(data);
    let mut rest: &str = &text;
    let mut blocks = 0;
    while let Some((block_type, der, has_headers)) = pem_block(rest.as_bytes()) {
        if block_type != "CERTIFICATE" {
            return Err(format!("only CERTIFICATE PEM blocks are allowed, found {}", crate::engine::apiserver::validation::quote(&block_type)));
        }
        if has_headers {
            return Err("no PEM block headers are permitted".to_string());
        }
        if der.is_empty() {
            return Err("found CERTIFICATE PEM block containing 0 certificates".to_string());
        }
        blocks += 1;
        let end = "-----END CERTIFICATE-----";
        match rest.find(end) {
            Some(at) => rest = &rest[at + end.len()..],
            None => break,
        }
    }
    if blocks == 0 {
        return Err("must contain at least one CERTIFICATE PEM block".to_string());
    }
    Ok(())
}

fn same_set(usages: &[String], wanted: &[&str]) -> bool {
    let given: std::collections::BTreeSet<&str> = usages.iter().map(String::as_str).collect();
    let wanted: std::collections::BTreeSet<&str> = wanted.iter().copied().collect();
    given == wanted
}

/// The signers' `isRequestForSignerFn`: `Err` with the message of the
/// `Failed` condition (`SignerValidationFailure`) a signer writes.
pub fn validate_for_signer(signer: &str, request: &CertificateRequest, usages: &[String]) -> Result<(), String> {
    const NOT_SYSTEM_NODES: &str = "subject organization is not system:nodes";
    const NOT_SYSTEM_NODE: &str = "subject common name does not begin with system:node:";
    let system_nodes = request.organizations.len() == 1 && request.organizations[0] == "system:nodes";
    match signer {
        KUBELET_SERVING => {
            if !system_nodes {
                return Err(NOT_SYSTEM_NODES.to_string());
            }
            if request.dns_names.is_empty() && request.ip_addresses.is_empty() {
                return Err("DNS or IP subjectAltName is required".to_string());
            }
            if !request.email_addresses.is_empty() {
                return Err("Email subjectAltNames are not allowed".to_string());
            }
            if !request.uris.is_empty() {
                return Err("URI subjectAltNames are not allowed".to_string());
            }
            if !same_set(usages, &["digital signature", "key encipherment", "server auth"]) && !same_set(usages, &["digital signature", "server auth"]) {
                return Err("usages did not match [digital signature key encipherment server auth]".to_string());
            }
            if !request.common_name.starts_with("system:node:") {
                return Err(NOT_SYSTEM_NODE.to_string());
            }
            Ok(())
        }
        KUBE_APISERVER_CLIENT_KUBELET => {
            if !system_nodes {
                return Err(NOT_SYSTEM_NODES.to_string());
            }
            if !request.dns_names.is_empty() {
                return Err("DNS subjectAltNames are not allowed".to_string());
            }
            if !request.email_addresses.is_empty() {
                return Err("Email subjectAltNames are not allowed".to_string());
            }
            if !request.ip_addresses.is_empty() {
                return Err("IP subjectAltNames are not allowed".to_string());
            }
            if !request.uris.is_empty() {
                return Err("URI subjectAltNames are not allowed".to_string());
            }
            if !request.common_name.starts_with("system:node:") {
                return Err(NOT_SYSTEM_NODE.to_string());
            }
            if !same_set(usages, &["client auth", "digital signature", "key encipherment"]) && !same_set(usages, &["client auth", "digital signature"]) {
                return Err("usages did not match [client auth digital signature key encipherment]".to_string());
            }
            Ok(())
        }
        KUBE_APISERVER_CLIENT => {
            let mut client_auth = false;
            for usage in usages {
                match usage.as_str() {
                    "digital signature" | "key encipherment" => {}
                    "client auth" => client_auth = true,
                    other => return Err(format!("invalid usage for client certificate: {other}")),
                }
            }
            if client_auth {
                Ok(())
            } else {
                Err("missing required usage for client certificate: client auth".to_string())
            }
        }
        _ => Ok(()),
    }
}

/// The signers kube-controller-manager runs (`csrsigning`), kubeadm
/// giving it the cluster CA's key.
pub fn is_built_in_signer(signer: &str) -> bool {
    matches!(signer, KUBE_APISERVER_CLIENT | KUBE_APISERVER_CLIENT_KUBELET | KUBELET_SERVING | LEGACY_UNKNOWN)
}

/// The certificate a signer issues: PEM, one `CERTIFICATE` block. Its
/// body names what a real one would hold; it is not DER and carries no
/// signature, as nothing here checks TLS.
pub fn issued_certificate(request: &CertificateRequest, signer: &str) -> Vec<u8> {
    let body = format!(
        "Miniplane simulated certificate, not X.509. Issuer: CN=kubernetes. Subject: CN={}{}. Signer: {signer}.",
        request.common_name,
        request.organizations.iter().map(|o| format!(", O={o}")).collect::<String>()
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem.into_bytes()
}

/// Go's `%#v` of a `[]byte`, as `field.Invalid` prints `spec.request`.
pub fn go_bytes(data: &[u8]) -> String {
    let mut out = String::with_capacity(8 + data.len() * 6);
    out.push_str("[]byte{");
    for (i, b) in data.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("0x{b:x}"));
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj "/CN=system:node:worker/O=system:nodes" -addext "subjectAltName=DNS:worker,IP:10.0.0.1"
    const SERVING: &str = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBGjCBwAIBADA0MRswGQYDVQQDDBJzeXN0ZW06bm9kZTp3b3JrZXIxFTATBgNV\nBAoMDHN5c3RlbTpub2RlczBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFxnoJbG\n6G4/iMF6FB8CngS/WYZdMZHwowu4t6oPqyNLrzHy06oyl3R9apqE+ptYMduHXArG\nNSbD7ZvDO7ZXtNGgKjAoBgkqhkiG9w0BCQ4xGzAZMBcGA1UdEQQQMA6CBndvcmtl\ncocECgAAATAKBggqhkjOPQQDAgNJADBGAiEA56o2p7ML3eN1LCl41vyEkj14APjU\nn29wdtkoLz91MnkCIQDzUAV5hS1asB+PvoxeRgM0G0RFu3Vgkmuk8MblakrPHA==\n-----END CERTIFICATE REQUEST-----\n";

    #[test]
    fn reads_subject_and_names() {
        let request = parse_request(SERVING.as_bytes());
        assert_eq!(
            request,
            Ok(CertificateRequest {
                common_name: "system:node:worker".into(),
                organizations: vec!["system:nodes".into()],
                dns_names: vec!["worker".into()],
                ip_addresses: vec!["10.0.0.1".into()],
                ..Default::default()
            })
        );
    }

    #[test]
    fn refuses_what_is_not_a_request_block() {
        assert_eq!(parse_request(b"hello"), Err("PEM block type must be CERTIFICATE REQUEST".to_string()));
        assert_eq!(parse_request(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), Err("PEM block type must be CERTIFICATE REQUEST".to_string()));
        assert!(parse_request(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n").is_err());
    }

    #[test]
    fn signer_rules() {
        let node = CertificateRequest { common_name: "system:node:w".into(), organizations: vec!["system:nodes".into()], ..Default::default() };
        let usages = |u: &[&str]| u.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(validate_for_signer(KUBE_APISERVER_CLIENT_KUBELET, &node, &usages(&["digital signature", "client auth"])), Ok(()));
        assert_eq!(validate_for_signer(KUBELET_SERVING, &node, &usages(&["server auth"])), Err("DNS or IP subjectAltName is required".to_string()));
        assert_eq!(validate_for_signer(KUBE_APISERVER_CLIENT, &node, &usages(&["server auth"])), Err("invalid usage for client certificate: server auth".to_string()));
        assert_eq!(validate_for_signer(KUBE_APISERVER_CLIENT, &node, &usages(&["digital signature"])), Err("missing required usage for client certificate: client auth".to_string()));
    }
}
