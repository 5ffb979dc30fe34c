//! `kubectl create ingress NAME --rule=host/path=service:port[,tls[=secret]]`,
//! with kubectl 1.33's rule syntax, validation messages and generated object.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressLoadBalancerStatus, IngressRule, IngressServiceBackend, IngressSpec,
    IngressStatus, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::create::{one_name, submit_generated};
use crate::engine::api::Object;
use crate::engine::kubectl::{Error, Result, Session};

fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Go's `regexp.MatchString` of kubectl's rule pattern
/// `^[\w\*\-\.]*/[^,=\n]*=[\w\-]+:[\w\-]+(,tls=?[\w\-]+?)?$`.
pub fn rule_is_valid(rule: &str) -> bool {
    let Some(slash) = rule.find('/') else { return false };
    if !rule[..slash].chars().all(|c| word_char(c) || matches!(c, '*' | '-' | '.')) {
        return false;
    }
    let rest = &rule[slash..];
    let Some(eq) = rest.find([',', '=', '\n']) else { return false };
    if !rest[eq..].starts_with('=') {
        return false;
    }
    let after = &rest[eq + 1..];
    let name_end = after.find(|c: char| !(word_char(c) || c == '-')).unwrap_or(after.len());
    if name_end == 0 || !after[name_end..].starts_with(':') {
        return false;
    }
    let port_part = &after[name_end + 1..];
    let port_end = port_part.find(|c: char| !(word_char(c) || c == '-')).unwrap_or(port_part.len());
    if port_end == 0 {
        return false;
    }
    let tail = &port_part[port_end..];
    if tail.is_empty() {
        return true;
    }
    let Some(tls) = tail.strip_prefix(",tls") else { return false };
    let secret = tls.strip_prefix('=').unwrap_or(tls);
    secret.chars().all(|c| word_char(c) || c == '-')
}

/// `intstr.Parse`: a number if it parses as one, else a name.
fn backend_port(port: &str) -> ServiceBackendPort {
    match port.parse::<i32>() {
        Ok(n) => ServiceBackendPort { number: Some(n), name: None },
        Err(_) => ServiceBackendPort { number: None, name: Some(port.to_string()) },
    }
}

fn backend(service: &str) -> IngressBackend {
    let mut parts = service.split(':');
    let name = parts.next().unwrap_or("").to_string();
    let port = parts.next().unwrap_or("");
    IngressBackend { service: Some(IngressServiceBackend { name, port: Some(backend_port(port)) }), resource: None }
}

fn http_path(pathsvc: &str) -> HTTPIngressPath {
    let mut split = pathsvc.split('=');
    let mut path = format!("/{}", split.next().unwrap_or(""));
    let service = split.next().unwrap_or("");
    let mut path_type = "Exact".to_string();
    if path.ends_with('*') {
        path_type = "Prefix".into();
        path.pop();
    }
    HTTPIngressPath { path: Some(path), path_type, backend: backend(service) }
}

fn tls_rules(rules: &[String]) -> Vec<IngressTLS> {
    let mut present: Vec<String> = Vec::new();
    let mut out: Vec<IngressTLS> = Vec::new();
    for rule in rules {
        let tls: Vec<&str> = rule.split(',').collect();
        if tls.len() != 2 {
            continue;
        }
        let host = rule.split_once('/').map_or(rule.as_str(), |(h, _)| h).to_string();
        let secret_parts: Vec<&str> = tls[1].split('=').collect();
        let secret = if secret_parts.len() > 1 { secret_parts[1].to_string() } else { String::new() };
        let idx = out.iter().position(|t| t.secret_name.clone().unwrap_or_default() == secret);
        if present.contains(&host) {
            continue;
        }
        if let Some(i) = idx {
            out[i].hosts.get_or_insert_with(Vec::new).push(host.clone());
            present.push(host);
            continue;
        }
        let mut entry = IngressTLS::default();
        if !host.is_empty() {
            entry.hosts = Some(vec![host.clone()]);
        }
        if !secret.is_empty() {
            entry.secret_name = Some(secret);
        }
        if entry.secret_name.is_some() || entry.hosts.is_some() {
            out.push(entry);
        }
        present.push(host);
    }
    out
}

fn ingress_rules(rules: &[String]) -> Vec<IngressRule> {
    let mut out: Vec<IngressRule> = Vec::new();
    for rule in rules {
        let without_tls = rule.split(',').next().unwrap_or("");
        let (host, rest) = without_tls.split_once('/').unwrap_or((without_tls, ""));
        let path = http_path(rest);
        let host = (!host.is_empty()).then(|| host.to_string());
        if let Some(existing) = out.iter_mut().find(|r| r.host == host) {
            if let Some(http) = existing.http.as_mut() {
                http.paths.push(path);
            }
            continue;
        }
        out.push(IngressRule { host, http: Some(HTTPIngressRuleValue { paths: vec![path] }) });
    }
    out
}

pub fn run(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let rules: Vec<String> = s.args.values("rule").to_vec();
    let annotations: Vec<String> = s.args.values("annotation").to_vec();
    let default_backend = s.args.value("default-backend").unwrap_or("").to_string();
    let class = s.args.value("class").unwrap_or("").to_string();
    if default_backend.is_empty() && rules.is_empty() {
        return Err(Error::Message(
            "error: not enough information provided: every ingress has to either specify a default-backend (which catches all traffic) or a list of rules (which catch specific paths)".into(),
        ));
    }
    for rule in &rules {
        if !rule_is_valid(rule) {
            return Err(Error::Message(format!("error: rule {rule} is invalid and should be in format host/path=svcname:svcport[,tls[=secret]]")));
        }
    }
    let mut annotation_map = BTreeMap::new();
    for a in &annotations {
        match a.split_once('=') {
            Some((k, v)) => {
                annotation_map.insert(k.to_string(), v.to_string());
            }
            None => return Err(Error::Message(format!("error: annotation {a} is invalid and should be in format key=[value]"))),
        }
    }
    if !default_backend.is_empty() && default_backend.split(':').count() != 2 {
        return Err(Error::Message("error: default-backend should be in format servicename:serviceport".into()));
    }
    let tls = tls_rules(&rules);
    let spec = IngressSpec {
        ingress_class_name: (!class.is_empty()).then_some(class),
        default_backend: (!default_backend.is_empty()).then(|| backend(&default_backend)),
        tls: (!tls.is_empty()).then_some(tls),
        rules: Some(ingress_rules(&rules)).filter(|r| !r.is_empty()),
    };
    let ingress = Ingress {
        metadata: ObjectMeta { name: Some(name), annotations: (!annotation_map.is_empty()).then_some(annotation_map), ..Default::default() },
        spec: Some(spec),
        status: Some(IngressStatus { load_balancer: Some(IngressLoadBalancerStatus::default()) }),
    };
    submit_generated(s, Object::Ingress(Box::new(ingress)), Some("failed to create ingress: "), "created")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_validate_as_kubectls_regex() {
        for ok in ["foo.com/bar=svc1:8080,tls=my-cert", "/path=svc:port", "foo.com/*=svc:http", "foo.com/=svc:https,tls", "*.foo.com/x=a:1,tlssecret"] {
            assert!(rule_is_valid(ok), "{ok}");
        }
        for bad in ["foo.com=svc:80", "foo.com/bar=svc", "foo.com/bar=:80", "foo/bar=svc:80,ssl", "foo/bar=svc:80,tls=a b", "fo o/bar=svc:80", "/a=b:c:d"] {
            assert!(!rule_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn builds_rules_and_tls_as_kubectl() {
        let rules = vec!["foo.com/=svc:port".to_string(), "foo.com/admin/=svcadmin:portadmin".to_string(), "bar.com/admin*=svc2:http,tls=s1".to_string()];
        let r = ingress_rules(&rules);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].http.as_ref().unwrap().paths.len(), 2);
        let p = &r[1].http.as_ref().unwrap().paths[0];
        assert_eq!((p.path.as_deref(), p.path_type.as_str()), (Some("/admin"), "Prefix"));
        let t = tls_rules(&rules);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].secret_name.as_deref(), Some("s1"));
    }
}
