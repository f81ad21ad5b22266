//! Sends a numbered message every 100 ms to a logical queue, wherever it lives now; forever,
//! or COUNT messages when a count is given.
//!
//! ```sh
//! WATERSHED_URL=http://127.0.0.1:3000 WATERSHED_TOKEN=wsa_… \
//!   cargo run -p watershed-sdk --example produce -- shop orders checkout [COUNT]
//! ```
//! Fail the queue over in the console while it runs: the producer finishes what it has in
//! flight and carries on on the other cluster within a heartbeat.
#![recursion_limit = "512"]

use std::time::Duration;
use watershed_sdk::{ClientConfig, Producer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (project, queue, app) = match (args.next(), args.next(), args.next()) {
        (Some(p), Some(q), Some(a)) => (p, q, a),
        _ => return Err(
            "usage: produce PROJECT QUEUE APP [COUNT] (with WATERSHED_URL and WATERSHED_TOKEN set)"
                .into(),
        ),
    };
    let count: Option<u64> = match args.next() {
        Some(c) => Some(
            c.parse()
                .map_err(|_| format!("COUNT: {c:?} is not a number"))?,
        ),
        None => None,
    };
    let url = std::env::var("WATERSHED_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let token = std::env::var("WATERSHED_TOKEN").map_err(|_| "WATERSHED_TOKEN is not set")?;
    let producer = Producer::connect(ClientConfig::new(url, project, queue, token, app)?).await?;
    for n in (0u64..).take_while(|n| count.is_none_or(|c| *n < c)) {
        let delivery = producer
            .send(
                Some(n.to_string().as_bytes()),
                format!("message {n}").as_bytes(),
            )
            .await?;
        println!(
            "{n} → {} partition {} offset {}",
            delivery.cluster, delivery.partition, delivery.offset
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    producer.close().await?;
    Ok(())
}
