//! `kubectl create token SERVICE_ACCOUNT`, as kubectl 1.33's
//! pkg/cmd/create/create_token.go: the flags checked as its `Validate`
//! checks them (same order, same words), then a TokenRequest posted to
//! the service account's `token` subresource and its token printed (with
//! a newline only on a terminal) or, with `-o`, the TokenRequest.

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use serde_json::{json, Value};

use super::apply::{print_one, write_output_format};
use super::create::one_name;
use crate::engine::api::Reason;
use crate::engine::kubectl::printers::{self, OutputFormat};
use crate::engine::kubectl::{Error, Result, Session};

/// `boundObjectKinds`: the kinds a token may be bound to, with their API versions.
const BOUND_OBJECT_KINDS: [(&str, &str); 3] = [("Node", "v1"), ("Pod", "v1"), ("Secret", "v1")];

pub fn run(s: &mut Session) -> Result {
    let name = one_name(s)?;
    let duration_ns = match s.args.value("duration") {
        None => 0,
        Some(text) => crate::engine::cron::parse_go_duration(text).map_err(|e| Error::Message(format!("error: invalid argument {text:?} for \"--duration\" flag: {e}\nSee 'kubectl create token --help' for usage.")))?,
    };
    let format = write_output_format(s)?;
    let audiences: Vec<String> = s.args.values("audience").iter().map(|a| a.to_string()).collect();
    let kind = s.args.value("bound-object-kind").unwrap_or("").to_string();
    let bound_name = s.args.value("bound-object-name").unwrap_or("").to_string();
    let bound_uid = s.args.value("bound-object-uid").unwrap_or("").to_string();
    let fail = |message: &str| Err(Error::Message(format!("error: {message}")));
    if duration_ns < 0 {
        return fail("--duration must be greater than or equal to 0");
    }
    if duration_ns % 1_000_000_000 != 0 {
        return fail("--duration cannot be expressed in units less than seconds");
    }
    if audiences.iter().any(String::is_empty) {
        return fail("--audience must not be an empty string");
    }
    let api_version = BOUND_OBJECT_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v);
    if kind.is_empty() {
        if !bound_name.is_empty() {
            return fail("--bound-object-name can only be set if --bound-object-kind is provided");
        }
        if !bound_uid.is_empty() {
            return fail("--bound-object-uid can only be set if --bound-object-kind is provided");
        }
    } else {
        if api_version.is_none() {
            let kinds: Vec<&str> = BOUND_OBJECT_KINDS.iter().map(|(k, _)| *k).collect();
            return fail(&format!("supported --bound-object-kind values are {}", kinds.join(", ")));
        }
        if bound_name.is_empty() {
            return fail("--bound-object-name is required if --bound-object-kind is provided");
        }
    }
    let spec = TokenRequestSpec {
        audiences,
        expiration_seconds: (duration_ns > 0).then(|| i64::try_from(duration_ns / 1_000_000_000).unwrap_or(i64::MAX)),
        bound_object_ref: api_version.map(|v| BoundObjectReference {
            api_version: Some(v.to_string()),
            kind: Some(kind.clone()),
            name: Some(bound_name.clone()),
            uid: Some(bound_uid.clone()).filter(|u| !u.is_empty()),
        }),
    };
    let namespace = s.namespace();
    let response = match s.cluster.sim.api.create_token(&namespace, &name, spec) {
        Ok(r) => r,
        Err(e) => {
            let detail = if e.reason == Reason::ConnectionRefused {
                let host = s.server();
                format!("Post \"https://{host}/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token\": dial tcp {host}: connect: connection refused")
            } else {
                e.message
            };
            return Err(Error::Message(format!("error: failed to create token: {detail}")));
        }
    };
    let token = response.status.as_ref().map(|st| st.token.clone()).unwrap_or_default();
    if let Some(format) = format {
        let value = as_go_json(&response);
        // kubectl prints the typed TokenRequest it decoded: `-o json` is
        // Go's `json.MarshalIndent` of the struct, its fields in declaration
        // order; `-o yaml` goes through a map, so its keys are sorted.
        if matches!(format, OutputFormat::Json) {
            s.out.push_str(&printers::go_types::to_json("TokenRequest", &value));
            s.out.push('\n');
            return Ok(());
        }
        return print_one(s, &format, &format!("tokenrequest.authentication.k8s.io/{name}"), &value);
    }
    s.out.push_str(&token);
    if s.terminal {
        s.out.push('\n');
    }
    Ok(())
}

/// The TokenRequest as Go's encoding/json writes it: the spec's pointers
/// have no `omitempty`, so an unset one is `null`.
fn as_go_json(request: &TokenRequest) -> Value {
    let spec = &request.spec;
    let status = request.status.as_ref();
    json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": serde_json::to_value(&request.metadata).unwrap_or(Value::Null),
        "spec": {
            "audiences": spec.audiences,
            "boundObjectRef": spec.bound_object_ref.as_ref().map(|r| serde_json::to_value(r).unwrap_or(Value::Null)),
            "expirationSeconds": spec.expiration_seconds,
        },
        "status": {
            "token": status.map(|st| st.token.as_str()).unwrap_or(""),
            "expirationTimestamp": status.and_then(|st| serde_json::to_value(&st.expiration_timestamp).ok()),
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::engine::cron::parse_go_duration;
    use crate::engine::kubectl::verbs::write_tests::{cluster, k};

    #[test]
    fn the_token_ends_a_line_only_on_a_terminal() {
        let mut c = cluster();
        k(&mut c, "kubectl create serviceaccount robot");
        let piped = k(&mut c, "kubectl create token robot");
        assert_eq!((piped.exit_code, piped.stderr.as_str()), (0, ""));
        assert_eq!(piped.stdout.split('.').count(), 3, "header.payload.signature");
        assert!(!piped.stdout.ends_with('\n'));
        let typed = crate::engine::kubectl::run_in_terminal(&mut c, "kubectl create token robot");
        assert!(typed.stdout.ends_with('\n'));
        assert_eq!(typed.stdout.trim_end().split('.').next(), piped.stdout.split('.').next(), "one signing key");
    }

    #[test]
    fn durations_parse_as_go_parses_them() {
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("10m"), Ok(600_000_000_000));
        assert_eq!(parse_go_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go_duration("-1s"), Ok(-1_000_000_000));
        assert_eq!(parse_go_duration(".5m"), Ok(30_000_000_000));
        assert_eq!(parse_go_duration("abc"), Err("time: invalid duration \"abc\"".into()));
        assert_eq!(parse_go_duration("5"), Err("time: missing unit in duration \"5\"".into()));
        assert_eq!(parse_go_duration("5x"), Err("time: unknown unit \"x\" in duration \"5x\"".into()));
        assert_eq!(parse_go_duration(""), Err("time: invalid duration \"\"".into()));
        assert!(parse_go_duration("99999999999999999999h").is_err());
    }
}
