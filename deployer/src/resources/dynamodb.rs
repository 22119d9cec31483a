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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";

    fn config(waf: &str) -> &'static StackConfig {
        let text = format!(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{waf}"
        );
        match StackConfig::parse(&text, "proxy.toml") {
            Ok(config) => Box::leak(Box::new(config)),
            Err(err) => panic!("{err}"),
        }
    }

    async fn converge(
        account: &FakeAccount,
        config: &'static StackConfig,
        mode: Mode,
    ) -> Run<'static> {
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        if let Err(err) = converge_block_table(&run).await {
            panic!("{err}");
        }
        run
    }

    #[tokio::test]
    async fn plan_creates_nothing_up_creates_the_table_with_ttl_a_second_up_makes_no_call_and_turning_it_off_removes_it()
     {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let on = config("[waf]\n[waf.auto_block]\n");
        let run = converge(&account, on, Mode::Plan).await;
        assert_eq!(run.changes().len(), 1);
        assert_eq!(run.changes()[0].action, Action::Create);
        assert!(account.mutating_calls().is_empty());

        converge(&account, on, Mode::Apply).await;
        assert_eq!(
            account.mutating_calls(),
            [
                "dynamodb:CreateTable cfrp-shop-blocks",
                "dynamodb:UpdateTimeToLive cfrp-shop-blocks"
            ]
        );
        let before = account.mutating_calls().len();
        let run = converge(&account, on, Mode::Apply).await;
        assert_eq!(account.mutating_calls().len(), before);
        assert!(run.changes().iter().all(|c| c.action == Action::Unchanged));

        // [waf] without auto_block: the table goes.
        let run = converge(&account, config("[waf]\n"), Mode::Apply).await;
        assert_eq!(run.changes()[0].action, Action::Delete);
        assert_eq!(
            account.mutating_calls().last().map(String::as_str),
            Some("dynamodb:DeleteTable cfrp-shop-blocks")
        );
        let before = account.mutating_calls().len();
        converge(&account, config("[waf]\n"), Mode::Apply).await;
        assert_eq!(account.mutating_calls().len(), before);
    }
}
