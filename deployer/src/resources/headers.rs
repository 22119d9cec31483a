//! The stack's own CloudFront response headers policy (`[response_headers]`): created,
//! updated field by field with the ETag it was read with, and deleted once no behaviour of the
//! distribution uses it (after the distribution was updated, or removed by `down`).

use crate::context::Run;
use crate::diff::Action;
use crate::error::DeployError;
use crate::spec::headers as spec;

const RESPONSE_HEADERS_POLICY: &str = "response headers policy";

/// Converges the policy the config asks for; its id (None while only planned, or when no
/// behaviour uses one: [`remove_unused`] deletes a left-over one after the distribution).
pub async fn converge(run: &Run<'_>) -> Result<Option<String>, DeployError> {
    let Some(config) = spec::response_headers_policy(run.config)? else {
        return Ok(None);
    };
    let name = config.name().to_string();
    let current = run.ports.cloudfront.response_headers_policy(&name).await?;
    let desired = spec::flatten_response_headers_policy(&config);
    let observed = current
        .as_ref()
        .map(|p| spec::flatten_response_headers_policy(&p.config));
    let action = run.decide(RESPONSE_HEADERS_POLICY, &name, &desired, observed.as_ref());
    if !run.applying() {
        return Ok(current.map(|p| p.id));
    }
    match (action, current) {
        (Action::Create, _) => {
            run.mutating("cloudfront:CreateResponseHeadersPolicy", &name)?;
            run.ports
                .cloudfront
                .create_response_headers_policy(config)
                .await
        }
        (Action::Update { .. }, Some(current)) => {
            run.mutating("cloudfront:UpdateResponseHeadersPolicy", &name)?;
            run.ports
                .cloudfront
                .update_response_headers_policy(&current.id, &current.etag, config)
                .await?;
            Ok(Some(current.id))
        }
        (_, current) => Ok(current.map(|p| p.id)),
    }
}

/// Deletes the stack's policy unless a behaviour uses it (`keep_if_used`); `down` passes
/// false. Runs after the distribution stopped referencing it.
pub async fn remove(run: &Run<'_>, keep_if_used: bool) -> Result<(), DeployError> {
    if keep_if_used && spec::response_headers_policy(run.config)?.is_some() {
        return Ok(());
    }
    let name = spec::response_headers_policy_name(run.names.stack());
    let Some(policy) = run.ports.cloudfront.response_headers_policy(&name).await? else {
        return Ok(());
    };
    run.note(RESPONSE_HEADERS_POLICY, &name, Action::Delete);
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudfront:DeleteResponseHeadersPolicy", &name)?;
    run.ports
        .cloudfront
        .delete_response_headers_policy(&policy.id, &policy.etag, &name)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::fake::FakeAccount;
    use crate::resources::cloudfront;
    use aws_sdk_cloudfront::types::ResponseHeadersPolicyRemoveHeader;
    use cfrp_config::{
        Cors, CorsMethod, CustomHeader, FrameOption, Hsts, ResponseHeaders, ResponseHeadersPolicy,
        StackConfig,
    };

    const ACCOUNT: &str = "123456789012";
    const NAME: &str = "cfrp-shop-headers";

    fn config() -> StackConfig {
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        config.default_behavior.response_headers = ResponseHeaders::Custom;
        config.response_headers = Some(ResponseHeadersPolicy {
            content_security_policy: Some("default-src 'self'".into()),
            frame_options: Some(FrameOption::Deny),
            content_type_options: true,
            hsts: Some(Hsts {
                max_age_seconds: 63_072_000,
                include_subdomains: true,
                preload: true,
            }),
            cors: Some(Cors {
                allow_origins: vec!["https://app.example.com".into()],
                allow_methods: vec![CorsMethod::Get, CorsMethod::Options],
                allow_headers: vec!["Content-Type".into()],
                expose_headers: vec![],
                allow_credentials: true,
                max_age_seconds: Some(600),
                origin_override: true,
            }),
            custom_headers: vec![CustomHeader {
                name: "X-Served-By".into(),
                value: "edge".into(),
                override_origin: true,
            }],
            remove_headers: vec!["Server".into(), "X-Powered-By".into()],
            server_timing_sampling_rate: Some(12.5),
            ..ResponseHeadersPolicy::default()
        });
        config
    }

    type Outcome = (
        Result<Option<String>, DeployError>,
        Vec<Change>,
        Vec<String>,
    );

    async fn converge_with(account: &FakeAccount, config: &StackConfig, mode: Mode) -> Outcome {
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        let result = converge(&run).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_nothing_and_up_creates_the_policy_once() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config();
        let (id, changes, calls) = converge_with(&account, &config, Mode::Plan).await;
        assert_eq!(id.ok(), Some(None));
        assert_eq!(changes[0].name, NAME);
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.response_headers_policy(NAME).is_none());

        let (id, _, calls) = converge_with(&account, &config, Mode::Apply).await;
        assert_eq!(
            calls,
            vec![format!("cloudfront:CreateResponseHeadersPolicy {NAME}")]
        );
        let held = account.response_headers_policy(NAME);
        assert_eq!(
            id.ok().flatten(),
            held.as_ref().map(|p| p.id.clone()),
            "the id handed to the distribution is the created policy's"
        );
        let held = held.map(|p| p.config);
        let cors = held.as_ref().and_then(|c| c.cors_config());
        assert_eq!(
            cors.map(|c| c.access_control_allow_credentials()),
            Some(true)
        );
        let removed: Vec<String> = held
            .as_ref()
            .and_then(|c| c.remove_headers_config())
            .map(|r| r.items().iter().map(|h| h.header().to_string()).collect())
            .unwrap_or_default();
        assert_eq!(removed, ["Server", "X-Powered-By"]);
        let timing = held.as_ref().and_then(|c| c.server_timing_headers_config());
        assert_eq!(timing.and_then(|t| t.sampling_rate()), Some(12.5));

        let (_, changes, calls) = converge_with(&account, &config, Mode::Apply).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(
            calls.is_empty(),
            "a converged policy costs no call: {calls:?}"
        );
    }

    #[tokio::test]
    async fn a_header_removed_by_hand_is_one_field_and_one_update_with_the_current_etag() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config();
        let _ = converge_with(&account, &config, Mode::Apply).await;
        account.edit_response_headers_policy(NAME, |c| {
            if let Some(r) = c.remove_headers_config.as_mut() {
                r.items = Some(vec![
                    ResponseHeadersPolicyRemoveHeader::builder()
                        .header("Server")
                        .build()
                        .expect("header is set"),
                ]);
                r.quantity = 1;
            }
        });
        let (_, changes, calls) = converge_with(&account, &config, Mode::Plan).await;
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "remove_headers".into(),
                    from: Some("Server".into()),
                    to: Some("Server,X-Powered-By".into()),
                }]
            }
        );
        assert!(calls.is_empty());
        let (result, _, calls) = converge_with(&account, &config, Mode::Apply).await;
        assert!(
            result.is_ok(),
            "the update carries the ETag read just before"
        );
        assert_eq!(
            calls,
            vec![format!("cloudfront:UpdateResponseHeadersPolicy {NAME}")]
        );
        let (_, changes, _) = converge_with(&account, &config, Mode::Plan).await;
        assert_eq!(changes[0].action, Action::Unchanged);
    }

    #[tokio::test]
    async fn a_policy_in_use_is_kept_and_deleted_once_the_config_stops_using_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config();
        let _ = converge_with(&account, &config, Mode::Apply).await;
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&run, true).await.is_ok());
        assert!(run.mutations().is_empty(), "a used policy is kept");

        let mut security = config.clone();
        security.default_behavior.response_headers = ResponseHeaders::SecurityHeaders;
        let plan = Run::offline(&security, account.ports(), ACCOUNT, Mode::Plan);
        assert!(remove(&plan, true).await.is_ok());
        assert_eq!(plan.changes()[0].action, Action::Delete);
        assert!(account.response_headers_policy(NAME).is_some());

        let run = Run::offline(&security, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&run, true).await.is_ok());
        assert_eq!(
            run.mutations(),
            vec![format!("cloudfront:DeleteResponseHeadersPolicy {NAME}")]
        );
        assert!(account.response_headers_policy(NAME).is_none());
        let again = Run::offline(&security, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&again, true).await.is_ok());
        assert!(again.mutations().is_empty());
    }

    #[tokio::test]
    async fn the_distribution_points_at_the_policy_and_down_deletes_it_only_after_the_distribution()
    {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config();
        let (id, _, _) = converge_with(&account, &config, Mode::Apply).await;
        let id = id.ok().flatten().unwrap_or_default();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let converged = cloudfront::converge_distribution(
            &run,
            None,
            None,
            "arn:aws:cloudfront::123456789012:function/cfrp-shop-viewer-request",
            &[],
            Some(&id),
        )
        .await;
        let found = converged.ok().and_then(|c| c.found).map(|f| f.id);
        let held = found.as_deref().and_then(|d| account.distribution(d));
        assert_eq!(
            held.as_ref()
                .and_then(|d| d.config.default_cache_behavior())
                .and_then(|b| b.response_headers_policy_id()),
            Some(id.as_str())
        );
        // Still attached: CloudFront (and the fake) refuse the delete.
        let early = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        let refused = remove(&early, false).await;
        assert!(
            refused
                .err()
                .is_some_and(|e| e.to_string().contains("ResponseHeadersPolicyInUse"))
        );
        let gone = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(cloudfront::remove_distribution(&gone).await.is_ok());
        let after = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&after, false).await.is_ok());
        assert!(account.response_headers_policy(NAME).is_none());
    }
}
