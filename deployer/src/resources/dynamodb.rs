//! The block table of `[waf.auto_block]` (DynamoDB, on demand): the analyser's strikes and the
//! block list's entries with their expiry. Key and billing mode are fixed at creation; TTL
//! (on the strikes' attribute only) is turned on after it.

use cfrp_config::blocks;

use crate::context::Run;
use crate::diff::{Action, fields};
use crate::error::DeployError;
use crate::ports::dynamodb::desired_key;

const TABLE: &str = "DynamoDB table";

pub async fn converge_block_table(run: &Run<'_>) -> Result<(), DeployError> {
    if run.config.auto_block_settings().is_none() {
        return remove_block_table(run).await;
    }
    let tables = &run.ports.tables;
    let name = run.names.block_table();
    let desired = fields([
        ("billing", "PAY_PER_REQUEST".to_string()),
        ("key", desired_key().join(",")),
        ("ttl", blocks::TTL_ATTRIBUTE.to_string()),
    ]);
    let current = tables.describe(&name).await?;
    let observed = current.as_ref().map(|t| {
        fields([
            ("billing", t.billing.clone()),
            ("key", t.key.join(",")),
            (
                "ttl",
                t.ttl_attribute.clone().unwrap_or_else(|| "off".to_string()),
            ),
        ])
    });
    let action = run.decide(TABLE, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    if let Some(table) = &current
        && (table.key != desired_key() || table.billing != "PAY_PER_REQUEST")
    {
        return Err(DeployError::state(
            &name,
            format!(
                "the table exists with key {:?} and billing {}; the stack needs {:?} on demand. Delete the table (it holds only strikes and block entries) and run `deployer up` again",
                table.key,
                table.billing,
                desired_key()
            ),
        ));
    }
    if action == Action::Create {
        run.mutating("dynamodb:CreateTable", &name)?;
        tables.create(&name, run.tags()).await?;
        // UpdateTimeToLive is refused while the table is still CREATING.
        crate::resources::poll(&name, std::time::Duration::from_secs(300), || async {
            Ok(tables
                .describe(&name)
                .await?
                .is_some_and(|t| t.status == "ACTIVE"))
        })
        .await?;
    }
    run.mutating("dynamodb:UpdateTimeToLive", &name)?;
    tables.enable_ttl(&name, blocks::TTL_ATTRIBUTE).await
}

pub async fn remove_block_table(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.block_table();
    if run.ports.tables.describe(&name).await?.is_none() {
        return Ok(());
    }
    run.note(TABLE, &name, Action::Delete);
    if !run.applying() {
        return Ok(());
    }
    run.mutating("dynamodb:DeleteTable", &name)?;
    run.ports.tables.delete(&name).await
}
