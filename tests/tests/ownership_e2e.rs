#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! A bucket is the stack's only when it carries the stack's tag and is the bucket the config
//! names. With the real binary against the emulator: a bucket tagged with the stack under
//! another name (as an earlier config's bucket would be) is reported by `plan` and `up`,
//! found through the Resource Groups Tagging API, and neither `up` nor `down` touches it.

use cfrp_tests::deploy::{down, plan, stack_file, up};
use cfrp_tests::{sdk_config, unique};

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_carrying_the_stacks_tag_under_another_name_is_reported_and_kept() {
    let name: String = unique("own").chars().take(32).collect();
    let stack = stack_file(&name, |t| t);
    let eu = sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&eu)
            .force_path_style(true)
            .build(),
    );
    let old = format!("{name}-old");
    s3.create_bucket()
        .bucket(&old)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&old)
        .key("kept.html")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"kept"))
        .send()
        .await
        .unwrap();
    let tag = aws_sdk_s3::types::Tag::builder()
        .key(cfrp_config::naming::STACK_TAG)
        .value(&name)
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(&old)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(tag)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let reported = |report: &serde_json::Value| {
        report["warnings"].as_array().is_some_and(|w| {
            w.iter().any(|w| {
                w["kind"] == "S3 bucket"
                    && w["name"] == old.as_str()
                    && w["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("not the manuscripts bucket the config names"))
            })
        })
    };
    let planned = plan(&stack);
    assert!(reported(&planned), "{planned:#}");
    let applied = up(&stack);
    assert!(reported(&applied), "{applied:#}");
    let mutations = applied["mutations"].to_string();
    assert!(!mutations.contains(&old), "{mutations}");
    down(&stack);

    // Still there, with its object and its tag.
    let objects = s3.list_objects_v2().bucket(&old).send().await.unwrap();
    assert_eq!(objects.contents().len(), 1);
    let tags = s3.get_bucket_tagging().bucket(&old).send().await.unwrap();
    assert_eq!(tags.tag_set().len(), 1);
    s3.delete_object()
        .bucket(&old)
        .key("kept.html")
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket(&old).send().await.unwrap();
}
