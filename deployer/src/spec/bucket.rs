//! The manuscripts bucket's protection: Block Public Access, default encryption and a policy
//! refusing requests made without TLS. Pure: what the bucket `up` creates should have, and
//! which of it a bucket someone else made lacks.

use serde_json::{Value, json};

use crate::ports::s3::{DefaultEncryption, PublicAccessBlock};

/// The Sid of the statement `up` adds to the policy of the bucket it creates; a policy's
/// other statements are kept as they are.
pub const TLS_ONLY_SID: &str = "cfrp-deny-insecure-transport";

/// The default encryption of the bucket `up` creates: SSE-KMS with the configured key, or
/// SSE-S3 (what AWS gives every new bucket anyway).
pub fn default_encryption(kms_key_arn: Option<&str>) -> DefaultEncryption {
    match kms_key_arn {
        Some(key) => DefaultEncryption {
            algorithm: "aws:kms".to_string(),
            kms_key: Some(key.to_string()),
        },
        None => DefaultEncryption {
            algorithm: "AES256".to_string(),
            kms_key: None,
        },
    }
}

/// A default encryption in one comparable line (`AES256`, `aws:kms KEY`); "none" for none.
pub fn encryption_text(encryption: Option<&DefaultEncryption>) -> String {
    match encryption {
        None => "none".to_string(),
        Some(DefaultEncryption {
            algorithm,
            kms_key: None,
        }) => algorithm.clone(),
        Some(DefaultEncryption {
            algorithm,
            kms_key: Some(key),
        }) => format!("{algorithm} {key}"),
    }
}

/// The statement denying every S3 request on the bucket and its objects that does not come
/// over TLS (the S3 user guide's `aws:SecureTransport` example).
pub fn tls_only_statement(bucket: &str) -> Value {
    json!({
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
        "Condition": { "Bool": { "aws:SecureTransport": "false" } }
    })
}

/// `current` (the bucket's policy, if any) with our TLS-only statement in place of any
/// earlier one of ours, every other statement kept.
pub fn with_tls_only(current: Option<&str>, bucket: &str) -> String {
    let mut policy = current
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({ "Version": "2012-10-17" }));
    let mut statements: Vec<Value> = match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    };
    statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(TLS_ONLY_SID));
    statements.push(tls_only_statement(bucket));
    policy["Statement"] = Value::Array(statements);
    policy.to_string()
}

/// Whether `policy` denies every principal all of S3 on the bucket and its objects when the
/// request is not made over TLS — ours, or an equivalent statement someone wrote.
pub fn denies_insecure_transport(policy: Option<&str>, bucket: &str) -> bool {
    let Some(policy) = policy.and_then(|text| serde_json::from_str::<Value>(text).ok()) else {
        return false;
    };
    let statements = match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => return false,
    };
    let strings = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let objects = [format!("{bucket_arn}/*"), "*".to_string()];
    statements.iter().any(|s| {
        let deny = s.get("Effect").and_then(Value::as_str) == Some("Deny");
        let everyone = match s.get("Principal") {
            Some(Value::String(p)) => p == "*",
            Some(Value::Object(p)) => strings(p.get("AWS")).iter().any(|a| a == "*"),
            _ => false,
        };
        let actions = strings(s.get("Action"));
        let all_of_s3 = actions.iter().any(|a| a == "s3:*" || a == "*");
        let resources = strings(s.get("Resource"));
        let covers_bucket = resources.iter().any(|r| r == &bucket_arn || r == "*");
        let covers_objects = resources.iter().any(|r| objects.contains(r));
        let insecure = s
            .pointer("/Condition/Bool/aws:SecureTransport")
            .is_some_and(|v| strings(Some(v)).iter().any(|v| v == "false") || v == &json!(false));
        deny && everyone && all_of_s3 && covers_bucket && covers_objects && insecure
    })
}

/// What a bucket lacks of the protection `up` gives the bucket it creates, one line each:
/// the Block Public Access settings that are off, no default encryption, no TLS-only policy.
pub fn missing_protection(
    block: Option<&PublicAccessBlock>,
    encryption: Option<&DefaultEncryption>,
    tls_only: bool,
) -> Vec<String> {
    let mut missing = Vec::new();
    let off: Vec<&str> = block
        .copied()
        .unwrap_or_default()
        .settings()
        .iter()
        .filter(|(_, on)| !on)
        .map(|(name, _)| *name)
        .collect();
    if !off.is_empty() {
        missing.push(format!(
            "Block Public Access is off for {} (turn all four on: aws s3api put-public-access-block)",
            off.join(", ")
        ));
    }
    if encryption.is_none() {
        missing.push(
            "no default encryption (set SSE-S3 or SSE-KMS: aws s3api put-bucket-encryption)"
                .to_string(),
        );
    }
    if !tls_only {
        missing.push(format!(
            "no bucket policy statement denying requests without TLS (a Deny of s3:* on the bucket and its objects when aws:SecureTransport is false, like the deployer's {TLS_ONLY_SID})"
        ));
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUCKET: &str = "shop-manuscripts";

    #[test]
    fn our_statement_is_recognised_and_merged_beside_the_owners_own() {
        let theirs = json!({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "ReadForCdn", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shop-manuscripts/*"}]
        })
        .to_string();
        assert!(!denies_insecure_transport(Some(&theirs), BUCKET));
        let merged = with_tls_only(Some(&theirs), BUCKET);
        assert!(denies_insecure_transport(Some(&merged), BUCKET));
        let value: Value = serde_json::from_str(&merged).unwrap_or_default();
        let sids: Vec<&str> = value["Statement"]
            .as_array()
            .map(|s| s.iter().filter_map(|s| s["Sid"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(sids, vec!["ReadForCdn", TLS_ONLY_SID]);
        // Merging again replaces ours instead of adding a second.
        let again = with_tls_only(Some(&merged), BUCKET);
        assert_eq!(again, merged);
        assert!(denies_insecure_transport(
            Some(&with_tls_only(None, BUCKET)),
            BUCKET
        ));
    }

    #[test]
    fn a_statement_that_leaves_a_gap_is_not_tls_only() {
        let with = |edit: &dyn Fn(&mut Value)| {
            let mut statement = tls_only_statement(BUCKET);
            edit(&mut statement);
            json!({"Version": "2012-10-17", "Statement": statement}).to_string()
        };
        assert!(denies_insecure_transport(Some(&with(&|_| {})), BUCKET));
        assert!(!denies_insecure_transport(
            Some(&with(&|s| s["Effect"] = json!("Allow"))),
            BUCKET
        ));
        assert!(!denies_insecure_transport(
            Some(&with(
                &|s| s["Resource"] = json!("arn:aws:s3:::shop-manuscripts")
            )),
            BUCKET
        ));
        assert!(!denies_insecure_transport(
            Some(&with(&|s| s["Action"] = json!("s3:GetObject"))),
            BUCKET
        ));
        assert!(!denies_insecure_transport(
            Some(&with(
                &|s| s["Condition"] = json!({"Bool": {"aws:SecureTransport": "true"}})
            )),
            BUCKET
        ));
        assert!(!denies_insecure_transport(
            Some(&with(
                &|s| s["Resource"] = json!(["arn:aws:s3:::other", "arn:aws:s3:::other/*"])
            )),
            BUCKET
        ));
        assert!(!denies_insecure_transport(Some("not json"), BUCKET));
        assert!(!denies_insecure_transport(None, BUCKET));
    }

    #[test]
    fn each_missing_setting_is_named() {
        let some_off = PublicAccessBlock {
            block_public_policy: false,
            restrict_public_buckets: false,
            ..PublicAccessBlock::ALL
        };
        let missing = missing_protection(Some(&some_off), None, false);
        assert_eq!(missing.len(), 3, "{missing:?}");
        assert!(missing[0].contains("BlockPublicPolicy, RestrictPublicBuckets"));
        assert!(!missing[0].contains("BlockPublicAcls"));
        assert!(missing[1].contains("no default encryption"));
        assert!(missing[2].contains("aws:SecureTransport"));
        // No configuration at all: all four are off.
        let none = missing_protection(None, Some(&default_encryption(None)), true);
        assert_eq!(
            none,
            vec!["Block Public Access is off for BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets (turn all four on: aws s3api put-public-access-block)".to_string()]
        );
        assert!(
            missing_protection(
                Some(&PublicAccessBlock::ALL),
                Some(&default_encryption(Some(
                    "arn:aws:kms:eu-west-1:123456789012:key/k"
                ))),
                true
            )
            .is_empty()
        );
    }
}
