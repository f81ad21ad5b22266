"""Messages for the end2end peek journey, written as a Kafka application would.

Registers a local broker as cluster `peek-local` on a running Watershed, makes project `peeks`
(owner `peek-owner`, member `peek-member`; `peek-viewer` is neither) with queue `orders` on it,
then produces 20 orders with confluent-kafka's AvroSerializer against Watershed's
/schema-registry (the schema, with a field marked sensitive, is registered by the serializer),
and one value that is not Avro at all. The people's password is `peek-password`.

Usage: peek_seed.py BASE_URL ADMIN_PASSWORD BROKER_ADDRESS
"""
import json
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from session import Session

base, admin_password, broker = sys.argv[1], sys.argv[2], sys.argv[3]
session = Session(base, admin_password)
call = session.call
token = session.token("peek-seed")

for name, role in [("peek-owner", "developer"), ("peek-member", "developer"),
                   ("peek-viewer", "viewer")]:
    call("POST", "/api/v1/users", {"username": name, "password": "peek-password", "role": role})
call("POST", "/api/v1/clusters", {"name": "peek-local", "kind": "kafka",
                                  "bootstrap_servers": [broker]})
call("POST", "/api/v1/projects", {"name": "peeks", "description": "Orders to look inside"})
call("PUT", "/api/v1/projects/peeks/people", {"owners": ["peek-owner"], "members": ["peek-member"]})
queue = call("POST", "/api/v1/queues", {"project": "peeks", "name": "orders",
                                        "primary_cluster": "peek-local", "partitions": 2,
                                        "data_format": "avro"})

# The platform creates the topic by itself within a second or so.
deadline = time.time() + 30
while True:
    topics = call("GET", "/api/v1/queues/peeks/orders/topics")
    if any(t["status"] in ("created", "existed") for t in topics):
        break
    assert time.time() < deadline, topics
    time.sleep(0.2)

schema = json.dumps({
    "type": "record", "name": "Order", "namespace": "peeks",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "country", "type": "string"},
        {"name": "email", "type": "string", "sensitive": True},
        {"name": "amount", "type": "double"},
    ]})
sr = SchemaRegistryClient({"url": base + "/schema-registry", "basic.auth.user.info": f"admin:{token}"})
serialize = AvroSerializer(sr, schema, conf={"auto.register.schemas": True})
# One message a batch: tansu 0.6's in-memory storage answers a partition's end offset as the
# last batch's first offset + 1, so batched messages would sit past the end it reports (real
# Kafka brokers count every message).
producer = Producer({"bootstrap.servers": broker, "linger.ms": 0, "batch.num.messages": 1})
topic = queue["topic"]
for n in range(20):
    order = {"id": n, "country": ["FR", "DE", "IT", "ES"][n % 4],
             "email": f"buyer{n}@example.com", "amount": 10.5 + n}
    value = serialize(order, SerializationContext(topic, MessageField.VALUE))
    producer.produce(topic, key=f"order-{n}", value=value, partition=n % 2)
# A producer that breaks the contract.
producer.produce(topic, key="broken", value=b"this is not avro", partition=0)
assert producer.flush(30) == 0, "every message delivered"

versions = call("GET", "/api/v1/queues/peeks/orders/schemas")
assert len(versions) == 1 and versions[0]["format"] == "avro", versions
print(f"peek seed: 21 messages on {topic}, schema id {versions[0]['id']}")
