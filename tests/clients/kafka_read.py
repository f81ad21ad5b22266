"""Reads every message of a topic on one or more clusters with confluent-kafka (librdkafka)
and prints each value on its own line: the end-to-end test checks that a third-party client
sees everything the Stream-SDK wrote.

Usage: kafka_read.py BOOTSTRAP[,BOOTSTRAP...] TOPIC
"""
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException


def read_all(bootstrap: str, topic: str) -> list[str]:
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"verify-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    values, idle_since = [], time.monotonic()
    deadline = time.monotonic() + 90
    # Done once nothing new arrived for a few seconds (after the group has its assignment).
    while time.monotonic() - idle_since < 5 and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        values.append(msg.value().decode())
        idle_since = time.monotonic()
    consumer.close()
    return values


def main() -> None:
    servers, topic = sys.argv[1], sys.argv[2]
    for bootstrap in servers.split(","):
        for value in read_all(bootstrap, topic):
            print(value)


if __name__ == "__main__":
    main()
