//! IAM documents: who may assume each role, and the least each role needs. Every Resource is
//! an ARN of the stack's own resources, except where AWS offers no resource-level permission
//! (commented at each such statement).

use cfrp_config::naming::Function;
use serde_json::{Value, json};

use super::Arns;

/// The trust policy letting one AWS service assume a role, limited to our account.
pub fn trust(service: &str, account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": service },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "aws:SourceAccount": account } }
        }]
    })
}

/// What CloudFront needs to write real-time logs to the stream (the AWS developer guide's
/// list for real-time log configs).
pub fn cloudfront_logs(arns: &Arns) -> Value {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["kinesis:DescribeStreamSummary", "kinesis:DescribeStream", "kinesis:PutRecord", "kinesis:PutRecords"],
        "Resource": [arns.stream]
    })];
    statements.extend(kms(arns, &["kms:GenerateDataKey"]));
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// With a customer managed key (`[encryption] kms_key_arn`), what a role needs of it: a
/// stream's producers kms:GenerateDataKey, its consumers kms:Decrypt (the Kinesis developer
/// guide); a queue's senders both, its receivers kms:Decrypt (the SQS developer guide). None
/// with the services' own keys, which need no grant in IAM.
fn kms(arns: &Arns, actions: &[&str]) -> Option<Value> {
    arns.kms_key.as_ref().map(|key| {
        json!({
            "Effect": "Allow",
            "Action": actions,
            "Resource": [key]
        })
    })
}

/// The inline policy of one function's role.
pub fn function(arns: &Arns, function: Function, namespace: &str) -> Value {
    let logs = json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [format!("{}:*", arns.log_group(function))]
    });
    // PutMetricData has no resource-level permissions, so AWS requires Resource "*"; the
    // namespace condition keeps the function to the stack's own metrics.
    let put_metrics = json!({
        "Effect": "Allow",
        "Action": ["cloudwatch:PutMetricData"],
        "Resource": ["*"],
        "Condition": { "StringEquals": { "cloudwatch:namespace": namespace } }
    });
    let mut statements = vec![logs];
    match function {
        Function::LogAnalyser => {
            // What Lambda's event source mapping reads the stream with (Lambda developer
            // guide, Kinesis event source mappings; AWSLambdaKinesisExecutionRole). Not
            // SubscribeToShard: that serves enhanced fan-out consumers, which the stack never
            // registers.
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"],
                "Resource": [arns.stream]
            }));
            // ListStreams has no resource-level permissions: AWS requires "*".
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["kinesis:ListStreams"],
                "Resource": ["*"]
            }));
            // The mapping's on-failure destination: Lambda sends the failed batch's
            // description with the function's role.
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [arns.analyser_failures]
            }));
            // Reads the stream (Decrypt) and sends to the failure queue (GenerateDataKey).
            statements.extend(kms(arns, &["kms:Decrypt", "kms:GenerateDataKey"]));
            statements.push(put_metrics);
            // `[waf.auto_block]`: strikes are only ever put (BatchWriteItem of PutRequests).
            if let Some(table) = &arns.block_table {
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": ["dynamodb:BatchWriteItem", "dynamodb:PutItem"],
                    "Resource": [table]
                }));
            }
        }
        Function::AlarmEvaluator => {
            // GetMetricData has no resource-level permissions either: AWS requires "*".
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["cloudwatch:GetMetricData"],
                "Resource": ["*"]
            }));
            statements.push(put_metrics);
            // `[waf.auto_block]`: reads strikes and entries, writes entries, and rewrites the
            // two block list IP sets (found by name: ListIPSets has no resource-level
            // permissions, AWS requires "*").
            if let Some(table) = &arns.block_table {
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": ["dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                    "Resource": [table]
                }));
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": ["wafv2:GetIPSet", "wafv2:UpdateIPSet"],
                    "Resource": arns.block_ip_sets
                }));
                statements.push(json!({
                    "Effect": "Allow",
                    "Action": ["wafv2:ListIPSets"],
                    "Resource": ["*"]
                }));
            }
        }
        Function::Invalidator => {
            // What Lambda's SQS event source mapping polls with (AWSLambdaSQSQueueExecutionRole);
            // the function itself makes no SQS call, and failed messages return to the
            // queue by their visibility timeout, so no ChangeMessageVisibility.
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": [arns.manuscripts_queue]
            }));
            statements.push(json!({
                "Effect": "Allow",
                "Action": ["cloudfront:CreateInvalidation"],
                "Resource": [arns.distribution]
            }));
            // Receives from the manuscripts queue.
            statements.extend(kms(arns, &["kms:Decrypt"]));
        }
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Lets S3 deliver the bucket's notifications to a queue, and nobody else.
pub fn queue_from_bucket(queue_arn: &str, bucket_arn: &str, account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "s3.amazonaws.com" },
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "ArnEquals": { "aws:SourceArn": bucket_arn },
                "StringEquals": { "aws:SourceAccount": account }
            }
        }]
    })
}

/// A policy document in one canonical text form, so documents compare by content. IAM
/// returns documents URL-encoded; other services return them as sent.
pub fn canonical(document: &str) -> String {
    let parsed = serde_json::from_str::<Value>(document).or_else(|_| {
        let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
        serde_json::from_str::<Value>(&decoded)
    });
    match parsed {
        Ok(mut value) => {
            // Keys sorted at every level. serde_json's map is sorted already unless its
            // `preserve_order` feature is on, which any crate in the build can turn on (the
            // AWS SDK's test utilities do).
            value.sort_all_objects();
            value.to_string()
        }
        Err(_) => document.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfrp_config::StackConfig;

    fn arns() -> Arns {
        let config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        Arns::new(&config, "123456789012", Some("E2EXAMPLE"))
    }

    /// Every action is a named action, and every Resource is one of the stack's own ARNs
    /// unless the statement is one of the commented AWS-requires-"*" cases.
    #[test]
    fn no_wildcard_actions_and_resources_are_the_stacks_own() {
        let arns = arns();
        let stack_prefixes = [
            format!("arn:aws:kinesis:{}:123456789012:stream/cfrp-", arns.region),
            format!(
                "arn:aws:logs:{}:123456789012:log-group:/aws/lambda/cfrp-",
                arns.region
            ),
            format!("arn:aws:sqs:{}:123456789012:cfrp-", arns.region),
            "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE".to_string(),
        ];
        let mut documents = vec![cloudfront_logs(&arns)];
        for f in Function::ALL {
            documents.push(function(&arns, f, "CloudFrontReverseProxy"));
        }
        for document in documents {
            for statement in document["Statement"].as_array().into_iter().flatten() {
                let actions: Vec<&str> = match &statement["Action"] {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    other => panic!("unexpected Action {other}"),
                };
                for action in &actions {
                    assert!(!action.contains('*'), "wildcard action {action}");
                }
                for resource in statement["Resource"].as_array().into_iter().flatten() {
                    let resource = resource.as_str().unwrap_or_default();
                    if resource == "*" {
                        assert!(
                            actions == ["cloudwatch:PutMetricData"]
                                || actions == ["cloudwatch:GetMetricData"]
                                || actions == ["kinesis:ListStreams"],
                            "\"*\" resource for {actions:?}"
                        );
                        if actions == ["cloudwatch:PutMetricData"] {
                            assert_eq!(
                                statement["Condition"]["StringEquals"]["cloudwatch:namespace"],
                                "CloudFrontReverseProxy"
                            );
                        }
                        continue;
                    }
                    assert!(
                        stack_prefixes
                            .iter()
                            .any(|p| resource.starts_with(p.as_str())),
                        "{resource} is not the stack's own"
                    );
                }
            }
        }
    }

    #[test]
    fn auto_block_grants_the_table_and_the_block_ip_sets_only() {
        let text = "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[waf]\n[waf.auto_block]\n";
        let config = match StackConfig::parse(text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        };
        let arns = Arns::new(&config, "123456789012", Some("E2EXAMPLE"));
        let table = "arn:aws:dynamodb:eu-west-1:123456789012:table/cfrp-shop-blocks";
        let grants = |f: Function| -> Vec<(Vec<String>, Vec<String>)> {
            function(&arns, f, "CloudFrontReverseProxy")["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| {
                    s["Action"].as_array().into_iter().flatten().any(|a| {
                        a.as_str()
                            .is_some_and(|a| a.starts_with("dynamodb:") || a.starts_with("wafv2:"))
                    })
                })
                .map(|s| {
                    let list = |v: &Value| {
                        v.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect::<Vec<_>>()
                    };
                    (list(&s["Action"]), list(&s["Resource"]))
                })
                .collect()
        };
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            grants(Function::LogAnalyser),
            [(
                strings(&["dynamodb:BatchWriteItem", "dynamodb:PutItem"]),
                strings(&[table])
            )]
        );
        assert_eq!(
            grants(Function::AlarmEvaluator),
            [
                (
                    strings(&["dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"]),
                    strings(&[table])
                ),
                (
                    strings(&["wafv2:GetIPSet", "wafv2:UpdateIPSet"]),
                    strings(&[
                        "arn:aws:wafv2:us-east-1:123456789012:global/ipset/cfrp-shop-block-v4/*",
                        "arn:aws:wafv2:us-east-1:123456789012:global/ipset/cfrp-shop-block-v6/*"
                    ])
                ),
                (strings(&["wafv2:ListIPSets"]), strings(&["*"])),
            ]
        );
        assert!(grants(Function::Invalidator).is_empty());
        // Without [waf.auto_block], none of it.
        let bare = Arns::new(
            &StackConfig::for_origin("shop", "eu-west-1", "app.example.com"),
            "123456789012",
            None,
        );
        assert!(bare.block_table.is_none() && bare.block_ip_sets.is_empty());
    }

    /// The actions each document grants on `key`.
    fn kms_actions(document: &Value, key: &str) -> Vec<String> {
        let mut actions: Vec<String> = document["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| {
                s["Resource"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r == key))
            })
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect();
        actions.sort();
        actions
    }

    #[test]
    fn a_customer_key_is_granted_to_producers_and_consumers_and_no_one_else() {
        const KEY: &str =
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        config.encryption.kms_key_arn = Some(KEY.to_string());
        let keyed = Arns::new(&config, "123456789012", Some("E2EXAMPLE"));
        let ns = "CloudFrontReverseProxy";
        assert_eq!(
            kms_actions(&cloudfront_logs(&keyed), KEY),
            ["kms:GenerateDataKey"]
        );
        assert_eq!(
            kms_actions(&function(&keyed, Function::LogAnalyser, ns), KEY),
            ["kms:Decrypt", "kms:GenerateDataKey"]
        );
        assert_eq!(
            kms_actions(&function(&keyed, Function::Invalidator, ns), KEY),
            ["kms:Decrypt"]
        );
        assert!(kms_actions(&function(&keyed, Function::AlarmEvaluator, ns), KEY).is_empty());
        // Without a key no document mentions KMS at all.
        let plain = arns();
        let mut documents = vec![cloudfront_logs(&plain)];
        documents.extend(Function::ALL.map(|f| function(&plain, f, ns)));
        for document in documents {
            assert!(!document.to_string().contains("kms:"), "{document}");
        }
    }

    #[test]
    fn canonical_form_ignores_encoding_and_key_order() {
        let a = r#"{"b":1,"a":[1,2]}"#;
        let b = "%7B%22a%22%3A%5B1%2C2%5D%2C%22b%22%3A1%7D";
        assert_eq!(canonical(a), canonical(b));
    }
}
