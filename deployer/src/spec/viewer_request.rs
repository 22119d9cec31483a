//! The CloudFront Function run on every viewer request (source and its node tests live in
//! `deployer/cloudfront-function/`).

/// The function's code, deployed byte for byte as tested.
pub const SOURCE: &str = include_str!("../../cloudfront-function/viewer-request.js");
/// The JavaScript runtime the source is written for.
pub const RUNTIME: &str = "cloudfront-js-2.0";
/// Shown in the CloudFront console beside the function.
pub const COMMENT: &str =
    "Sets X-Forwarded-Host and True-Client-IP for the origin; removes forgeable proxy headers";
