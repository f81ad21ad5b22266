"""Joins a consumer group as confluent-kafka (librdkafka) would in any other service, beside
Stream-SDK members of the same group: the end-to-end test checks that partitions are shared
among all of them, which only the real group protocol does.

Prints the partitions it owns as a JSON list each time they change, reads (without
committing) until its standard input closes, then leaves the group and prints {"read": N}.

Usage: kafka_group_member.py BOOTSTRAP TOPIC GROUP
"""
import json
import sys
import threading

from confluent_kafka import Consumer


def main() -> None:
    bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
    owned: set[int] = set()

    def show() -> None:
        print(json.dumps(sorted(owned)), flush=True)

    def on_assign(_consumer, partitions) -> None:
        owned.update(p.partition for p in partitions)
        show()

    def on_revoke(_consumer, partitions) -> None:
        owned.difference_update(p.partition for p in partitions)
        show()

    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        # The SDK's strategy: a group cannot mix eager and cooperative members.
        "partition.assignment.strategy": "cooperative-sticky",
        "heartbeat.interval.ms": 300,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    read = 0
    while not done.is_set():
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            read += 1
    consumer.close()
    print(json.dumps({"read": read}), flush=True)


if __name__ == "__main__":
    main()
