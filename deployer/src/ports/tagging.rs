//! The Resource Groups Tagging API: which buckets carry a tag. One GetResources call (a page
//! at a time) answers what ListBuckets plus a GetBucketTagging per bucket would, whatever the
//! number of buckets in the account. It answers for the client's region: the stack's buckets
//! are created in the stack's region.

use aws_sdk_resourcegroupstagging::types::TagFilter;

use super::PortFuture;
use super::fake::FakeAccount;
use crate::error::DeployError;

/// Tagged resources of the stack's region.
pub trait Tagged: Send + Sync {
    /// The names of the S3 buckets carrying the tag `key` = `value`.
    fn buckets_tagged<'a>(&'a self, key: &'a str, value: &'a str) -> PortFuture<'a, Vec<String>>;
}

/// The Resource Groups Tagging API through `aws-sdk-resourcegroupstagging`.
pub struct SdkTagged(pub aws_sdk_resourcegroupstagging::Client);

impl Tagged for SdkTagged {
    fn buckets_tagged<'a>(&'a self, key: &'a str, value: &'a str) -> PortFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut names = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = self
                    .0
                    .get_resources()
                    .tag_filters(TagFilter::builder().key(key).values(value).build())
                    .resource_type_filters("s3:bucket")
                    .set_pagination_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("tagging:GetResources", value, e))?;
                for resource in out.resource_tag_mapping_list() {
                    // arn:aws:s3:::NAME
                    if let Some(name) = resource
                        .resource_arn()
                        .and_then(|arn| arn.strip_prefix("arn:aws:s3:::"))
                    {
                        names.push(name.to_string());
                    }
                }
                token = out.pagination_token.filter(|t| !t.is_empty());
                if token.is_none() {
                    names.sort();
                    return Ok(names);
                }
            }
        })
    }
}

impl Tagged for FakeAccount {
    fn buckets_tagged<'a>(&'a self, key: &'a str, value: &'a str) -> PortFuture<'a, Vec<String>> {
        Box::pin(async move {
            self.call("tagging:GetResources", value)?;
            let region = self.region.clone();
            Ok(self
                .state()
                .buckets
                .iter()
                .filter(|(_, b)| b.location.as_deref().unwrap_or("us-east-1") == region)
                .filter(|(_, b)| b.tags.iter().any(|(k, v)| k == key && v == value))
                .map(|(name, _)| name.clone())
                .collect())
        })
    }
}
