"""Confluent's own Schema Registry client against a running Watershed.

Registers, fetches, checks and serializes through /schema-registry exactly as a Kafka
application would. Usage: confluent_registry.py BASE_URL ADMIN_PASSWORD
"""
import json
import sys
import time

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from session import Session

base, admin_password = sys.argv[1], sys.argv[2]
session = Session(base, admin_password)
call = session.call
token = session.token("schema-registry-test")

project = f"sr-{int(time.time() * 1000) % 10**9}"
call("POST", "/api/v1/projects", {"name": project})
for queue, fmt in [("orders", "avro"), ("events", "json")]:
    call("POST", "/api/v1/queues", {"project": project, "name": queue, "primary_cluster": "kafka-bj-1",
                                    "data_format": fmt})

sr = SchemaRegistryClient({"url": base + "/schema-registry", "basic.auth.user.info": f"admin:{token}"})
subject = f"{project}.orders-value"


def order(*extra):
    return json.dumps({"type": "record", "name": "Order", "namespace": "shop",
                       "fields": [{"name": "id", "type": "long"}, {"name": "amount", "type": "double"}, *extra]})


v1 = Schema(order(), "AVRO")
id1 = sr.register_schema(subject, v1)
assert sr.register_schema(subject, v1) == id1, "registering the same schema twice gives the same id"
assert json.loads(sr.get_schema(id1).schema_str)["name"] == "Order"
latest = sr.get_latest_version(subject)
assert (latest.version, latest.schema_id) == (1, id1), latest

breaking = Schema(order({"name": "currency", "type": "string"}), "AVRO")
assert not sr.test_compatibility(subject, breaking), "a field without a default breaks BACKWARD"
try:
    sr.register_schema(subject, breaking)
    raise AssertionError("an incompatible schema was registered")
except SchemaRegistryError as e:
    assert e.http_status_code == 409, e
    assert "currency" in e.error_message, e.error_message

compatible = Schema(order({"name": "currency", "type": "string", "default": "EUR"}), "AVRO")
assert sr.test_compatibility(subject, compatible)
id2 = sr.register_schema(subject, compatible)
assert id2 != id1 and sr.get_versions(subject) == [1, 2]
assert subject in sr.get_subjects()

assert sr.get_compatibility(subject) == "BACKWARD"
# A version that only drops a default is a new schema, checked under the mode: it is not taken
# for version 2 and dropped. Under BACKWARD_TRANSITIVE it breaks version 1 (no currency there).
sr.set_compatibility(subject_name=subject, level="BACKWARD_TRANSITIVE")
try:
    sr.register_schema(subject, breaking)
    raise AssertionError("dropping a default was taken for the existing version")
except SchemaRegistryError as e:
    assert e.http_status_code == 409 and "currency" in e.error_message, e
assert sr.get_versions(subject) == [1, 2]
# The same schema spelled with the namespace inside the name is the same version.
spelled = json.loads(compatible.schema_str)
spelled["name"] = "shop.Order"
del spelled["namespace"]
assert sr.register_schema(subject, Schema(json.dumps(spelled), "AVRO")) == id2
sr.set_compatibility(subject_name=subject, level="NONE")
assert sr.get_compatibility(subject) == "NONE"

# Serialize and deserialize a message through the registry, as producers and consumers do.
ctx = SerializationContext(f"{project}.orders", MessageField.VALUE)
# A fresh client, as a producer starting now has: `sr` cached version 1 as the latest above.
producer_sr = SchemaRegistryClient({"url": base + "/schema-registry", "basic.auth.user.info": f"admin:{token}"})
serializer = AvroSerializer(producer_sr, compatible.schema_str, conf={"auto.register.schemas": False, "use.latest.version": True})
deserializer = AvroDeserializer(sr)
message = {"id": 7, "amount": 12.5, "currency": "CHF"}
payload = serializer(message, ctx)
assert payload[0] == 0, "Confluent wire format"
assert int.from_bytes(payload[1:5], "big") == id2, "the payload names the latest version's id"
got = deserializer(payload, ctx)
assert got["id"] == 7 and got["amount"] == 12.5, got

events = f"{project}.events-value"
json_id = sr.register_schema(events, Schema(json.dumps({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
    "properties": {"kind": {"type": "string"}}, "required": ["kind"]}), "JSON"))
assert sr.get_schema(json_id).schema_type == "JSON"
print(f"schema registry: confluent-kafka {__import__('confluent_kafka').version()[0]} registered, "
      f"fetched, checked and serialized through Watershed ({subject}, {events})")
