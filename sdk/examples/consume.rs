//! Reads a logical queue as a consumer group and prints what arrives, committing as it goes;
//! forever, or until COUNT messages arrived when a count is given.
//!
//! ```sh
//! WATERSHED_URL=http://127.0.0.1:3000 WATERSHED_TOKEN=wsa_… \
//!   cargo run -p watershed-sdk --example consume -- shop orders billing billing-group [COUNT]
//! ```
//! A missing grant is refused at once with the platform's reason; a failover moves the
//! consumer to the other cluster, after it drained what was left on the old one.
#![recursion_limit = "512"]

use std::time::Duration;
use watershed_sdk::{ClientConfig, Consumer, SdkError};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (project, queue, app, group) = match (args.next(), args.next(), args.next(), args.next()) {
        (Some(p), Some(q), Some(a), Some(g)) => (p, q, a, g),
        _ => return Err(
            "usage: consume PROJECT QUEUE APP GROUP [COUNT] (with WATERSHED_URL and WATERSHED_TOKEN set)"
                .into(),
        ),
    };
    let count: Option<usize> = match args.next() {
        Some(c) => Some(
            c.parse()
                .map_err(|_| format!("COUNT: {c:?} is not a number"))?,
        ),
        None => None,
    };
    let url = std::env::var("WATERSHED_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let token = std::env::var("WATERSHED_TOKEN").map_err(|_| "WATERSHED_TOKEN is not set")?;
    let config = ClientConfig::new(url, project, queue, token, app)?.with_consumer_group(group);
    let mut consumer = match Consumer::connect(config).await {
        Err(SdkError::Denied { reason }) => return Err(format!("no grant: {reason}").into()),
        other => other?,
    };
    let mut seen = 0;
    while count.is_none_or(|c| seen < c) {
        for m in consumer.poll(Duration::from_secs(1)).await? {
            let value =
                String::from_utf8_lossy(m.value.as_deref().unwrap_or_default()).into_owned();
            println!("{} {}#{}: {value}", m.cluster, m.partition, m.offset);
            seen += 1;
        }
    }
    // Commits what was read before leaving the group.
    consumer.close().await?;
    Ok(())
}
