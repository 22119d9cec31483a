#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! A customer managed KMS key, with the real binary against the emulator: a key made in the
//! emulator's KMS is named in `[encryption]`; `up` puts the stream, the three queues, the
//! topic and the bucket `up` creates under it, and a second `up` changes nothing. Taking the
//! key out of the config goes back to each service's own encryption (SSE-SQS without the key
//! left behind on the queues), and `down` leaves nothing.

use std::process::Command;

use cfrp_config::Names;
use cfrp_tests::deploy::{StackFile, down, stack_file, up};
use cfrp_tests::{emulator, repo_root, sdk_config, unique};

/// A symmetric key made in the emulator's KMS in `region`, by its ARN (through boto3 from
/// the emulator's own virtualenv: the deployer never creates keys, so the tests need no KMS
/// client of their own).
fn make_key(region: &str) -> String {
    let script = "import boto3, sys\n\
        kms = boto3.client('kms', region_name=sys.argv[2], endpoint_url=sys.argv[1],\n\
            aws_access_key_id='test', aws_secret_access_key='test')\n\
        print(kms.create_key(Description='cfrp encryption test')['KeyMetadata']['Arn'])\n";
    let out = Command::new(repo_root().join(".venv/bin/python"))
        .args(["-c", script, &emulator().endpoint, region])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arn = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(arn.starts_with(&format!("arn:aws:kms:{region}:")), "{arn}");
    arn
}

fn with_key(name: &str, key: Option<&str>) -> StackFile {
    let key = key.map(str::to_string);
    stack_file(name, move |text| match &key {
        Some(key) => format!("{text}\n[encryption]\nkms_key_arn = \"{key}\"\n"),
        None => text,
    })
}

/// Each queue's (KmsMasterKeyId, SqsManagedSseEnabled), as SQS answers them.
async fn queue_encryption(
    sqs: &aws_sdk_sqs::Client,
    names: &Names,
) -> Vec<(String, Option<String>, Option<String>)> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let mut out = Vec::new();
    for queue in [
        names.manuscripts_queue(),
        names.manuscripts_dead_letter_queue(),
        names.analyser_failure_queue(),
    ] {
        let url = sqs
            .get_queue_url()
            .queue_name(&queue)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap_or_default();
        let get = |a: QueueAttributeName| attributes.get(&a).filter(|v| !v.is_empty()).cloned();
        out.push((
            queue,
            get(QueueAttributeName::KmsMasterKeyId),
            get(QueueAttributeName::SqsManagedSseEnabled),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_key_encrypts_every_store_and_taking_it_out_goes_back_to_the_defaults() {
    let name: String = unique("kms").chars().take(32).collect();
    let names = Names::new(&name);
    let key = make_key("eu-west-1");
    let stack = with_key(&name, Some(&key));
    let report = up(&stack);
    assert!(report["summary"]["create"].as_u64().unwrap() > 0);

    let eu = sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    let kinesis = aws_sdk_kinesis::Client::new(&eu);
    let stream = kinesis
        .describe_stream_summary()
        .stream_name(names.log_stream())
        .send()
        .await
        .unwrap();
    let stream = stream.stream_description_summary().unwrap();
    assert_eq!(stream.encryption_type().map(|e| e.as_str()), Some("KMS"));
    assert_eq!(stream.key_id(), Some(key.as_str()));

    let sqs = aws_sdk_sqs::Client::new(&eu);
    for (queue, kms, managed) in queue_encryption(&sqs, &names).await {
        assert_eq!(kms.as_deref(), Some(key.as_str()), "{queue}");
        assert_ne!(
            managed.as_deref(),
            Some("true"),
            "{queue}: SSE-KMS, not SSE-SQS"
        );
    }

    let sns = aws_sdk_sns::Client::new(&eu);
    let topic = format!("arn:aws:sns:eu-west-1:123456789012:{}", names.alarm_topic());
    let attributes = sns
        .get_topic_attributes()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    assert_eq!(
        attributes.get("KmsMasterKeyId").map(String::as_str),
        Some(key.as_str())
    );

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&eu)
            .force_path_style(true)
            .build(),
    );
    let encryption = s3
        .get_bucket_encryption()
        .bucket(&stack.bucket)
        .send()
        .await
        .unwrap();
    let rule = &encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0];
    let default = rule.apply_server_side_encryption_by_default().unwrap();
    assert_eq!(default.sse_algorithm().as_str(), "aws:kms");
    assert_eq!(default.kms_master_key_id(), Some(key.as_str()));
    assert_eq!(rule.bucket_key_enabled(), Some(true));

    // The grants name the key and nothing else.
    let iam = aws_sdk_iam::Client::new(&eu);
    let role = names.cloudfront_logs_role();
    let policies = iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    let mut documents = String::new();
    for policy in policies.policy_names() {
        let document = iam
            .get_role_policy()
            .role_name(&role)
            .policy_name(policy)
            .send()
            .await
            .unwrap()
            .policy_document;
        documents.push_str(
            &percent_encoding::percent_decode_str(&document)
                .decode_utf8_lossy()
                .replace(['\n', ' '], ""),
        );
    }
    assert!(documents.contains("kms:GenerateDataKey"), "{documents}");
    assert!(documents.contains(&key), "{documents}");

    let again = up(&stack);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");

    // The key taken out: each service's own encryption again, no key left on the queues.
    let plain = with_key(&name, None);
    let back = up(&plain);
    assert!(back["mutating_calls"].as_u64().unwrap() > 0, "{back:#}");
    for (queue, kms, managed) in queue_encryption(&sqs, &names).await {
        assert_eq!(kms, None, "{queue}");
        assert_eq!(managed.as_deref(), Some("true"), "{queue}");
    }
    let stream = kinesis
        .describe_stream_summary()
        .stream_name(names.log_stream())
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.stream_description_summary().unwrap().key_id(),
        Some("alias/aws/kinesis")
    );
    let settled = up(&plain);
    assert_eq!(settled["mutating_calls"], 0, "{settled:#}");
    down(&plain);
}
