//! A group of consumers sharing one logical queue: run it as several processes (or on several
//! hosts) with the same GROUP, or start several instances in one process with `--instances N`.
//! Each partition is read by one instance at a time; when an instance stops, the others take
//! its partitions over from its last commit, and a failover moves the whole group.
//!
//! ```sh
//! WATERSHED_URL=http://127.0.0.1:3000 WATERSHED_TOKEN=wsa_… \
//!   cargo run -p watershed-sdk --example consume_group -- shop orders billing billing-group --instances 3
//! ```
#![recursion_limit = "512"]

use std::time::Duration;
use watershed_sdk::{ClientConfig, Consumer};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, queue, app, group, rest @ ..] = args.as_slice() else {
        return Err("usage: consume_group PROJECT QUEUE APP GROUP [--instances N] (with WATERSHED_URL and WATERSHED_TOKEN set)".into());
    };
    let instances: usize = match rest {
        [flag, n] if flag == "--instances" => n.parse()?,
        [] => 1,
        _ => return Err("the only option is --instances N".into()),
    };
    let url = std::env::var("WATERSHED_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into());
    let token = std::env::var("WATERSHED_TOKEN").map_err(|_| "WATERSHED_TOKEN is not set")?;
    let mut running = tokio::task::JoinSet::new();
    for n in 0..instances {
        let config = ClientConfig::new(&url, project, queue, &token, app)?
            .with_consumer_group(group)
            // Tuning librdkafka is allowed; where the queue lives is the platform's to say.
            .with_kafka_setting("session.timeout.ms", "10000");
        let mut consumer = Consumer::connect(config).await?;
        running.spawn(async move {
            let mut owned = Vec::new();
            loop {
                let messages = consumer.poll(Duration::from_secs(1)).await?;
                if consumer.assignment() != owned {
                    owned = consumer.assignment();
                    println!(
                        "instance {n} owns partitions {owned:?} on {}",
                        consumer.cluster()
                    );
                }
                for m in messages {
                    let value = String::from_utf8_lossy(m.value.as_deref().unwrap_or_default())
                        .into_owned();
                    println!(
                        "instance {n}: {} {}#{}: {value}",
                        m.cluster, m.partition, m.offset
                    );
                }
            }
            #[allow(unreachable_code)]
            Ok::<_, watershed_sdk::SdkError>(())
        });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}
