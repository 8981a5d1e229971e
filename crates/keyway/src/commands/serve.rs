//! `keyway serve`.

use crate::config::Config;
use crate::serve::{shutdown_signal, Application};

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    if let Some(first) = &app.first_start {
        super::print_first_start(first, false);
    }
    if let Some(link) = &app.setup_link {
        println!(
            "\nNo one can sign in to the dashboard yet. Open this link to create the owner account (it works \
             once, until {}):\n\n  {}\n",
            link.expires_at.to_rfc3339(),
            super::admin::setup_url(&app.public_url, link)
        );
    }
    let addr = app.local_addr()?;
    tracing::info!(
        %addr,
        public_url = %config.public_url_for(addr)?,
        database = %app.broker.store.backend().as_str(),
        "keyway is listening"
    );
    app.run_until_stopped(shutdown_signal()).await
}
