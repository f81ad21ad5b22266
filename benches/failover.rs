//! Failover on real brokers: two `tansu` brokers, the real `watershed` binary, a queue bound
//! to both, producers and a consumer of the Stream-SDK sending and reading numbered messages.
//! Each round fails the queue over (then back, alternately) through the REST API and times
//! the click until the last client runs on the new cluster; at the end every acknowledged
//! message is looked for among those read (lost) and repeats are counted (duplicated).
//!
//! Run with `cargo bench --bench failover --features ssr [-- ROUNDS [HEARTBEAT_SECS]]`
//! (default 10 rounds, 1 s heartbeats). Needs `tansu` on the PATH (the test command installs
//! it). Results go in BENCHMARKS.md.
#![recursion_limit = "512"]

#[path = "../tests/support/kafka_drill.rs"]
mod drill;
mod support;

use drill::{Fleet, Rig};
use std::time::{Duration, Instant};

const PRODUCERS: usize = 4;
/// One consumer group of three instances, as a service with three replicas runs it.
const CONSUMERS: usize = 3;
const BATCH: usize = 50;
const PAUSE: Duration = Duration::from_millis(5);

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<u64>().ok());
    let rounds = args.next().unwrap_or(10);
    let heartbeat = args.next().unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tansu = drill::tansu_binary().expect("tansu on the PATH (scripts/test.sh installs it)");
        let rig = Rig::start(&tansu, heartbeat, 6).await;
        let (platform, w) = (&rig.platform, &rig.world);
        let fleet = Fleet::start(
            &platform.base,
            &w.app_token,
            &rig.dir.path().join("cache"),
            (PRODUCERS, CONSUMERS),
            BATCH,
            PAUSE,
        )
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut times = Vec::new();
        let limit = Duration::from_secs(heartbeat * 5 + 10);
        for round in 0..rounds {
            let (to, cluster) = if round % 2 == 0 {
                ("backup", "west")
            } else {
                ("primary", "east")
            };
            // Clicks land anywhere in the clients' heartbeat cycle.
            tokio::time::sleep(Duration::from_millis(300 + (round * 397) % 1000)).await;
            let clicked = Instant::now();
            drill::fail_over(&platform.base, &w.ops, to).await;
            let took = fleet
                .time_until_all_on(cluster, clicked, limit)
                .await
                .unwrap_or_else(|| panic!("round {round}: clients never all reached {cluster}"));
            println!(
                "round {round}: to {cluster} in {:.0} ms",
                took.as_secs_f64() * 1000.0
            );
            times.push(took);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let tally = fleet.finish(Duration::from_secs(60)).await;
        let max = times.iter().max().copied().unwrap_or_default();
        let (p50, p99) = support::percentiles(times);
        println!(
            "\n{rounds} switches, heartbeat {heartbeat} s, {PRODUCERS} producers + {CONSUMERS} consumers in one group\n\
             click → last client switched: p50 {p50:.0} ms, p99 {p99:.0} ms, max {:.0} ms\n\
             acknowledged {}, lost {}, duplicated {}, send errors {}",
            max.as_secs_f64() * 1000.0,
            tally.acked.len(),
            tally.lost().len(),
            tally.duplicates(),
            tally.send_errors
        );
    });
}
