"""Confluent's Protobuf serializer and deserializer against a running Watershed.

Message classes are generated here from two .proto files (one importing the other) with
grpcio-tools, as a Kafka team builds them. The serializer registers both through
/schema-registry (the import as a reference), the deserializer reads the writer's schema back
by id, and the round trip must give the same message. Usage: confluent_protobuf.py BASE_URL
ADMIN_PASSWORD
"""
import importlib
import json
import pathlib
import sys
import tempfile
import time

from grpc_tools import protoc
from confluent_kafka.schema_registry import SchemaRegistryClient, Schema
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from session import Session

base, admin_password = sys.argv[1], sys.argv[2]
session = Session(base, admin_password)
call = session.call
token = session.token("protobuf-test")

project = f"pb-{int(time.time() * 1000) % 10**9}"
call("POST", "/api/v1/projects", {"name": project})
for queue in ["money", "orders"]:
    call("POST", "/api/v1/queues", {"project": project, "name": queue, "primary_cluster": "kafka-bj-1",
                                    "data_format": "protobuf"})

src = pathlib.Path(tempfile.mkdtemp())
(src / "shop").mkdir()
(src / "shop/money.proto").write_text("""syntax = "proto3";
package shop;
// An amount in one currency.
message Money {
  string currency = 1;
  int64 units = 2;
}
""")
(src / "shop/orders.proto").write_text("""syntax = "proto3";
package shop;
import "shop/money.proto";
message Order {
  int64 id = 1;
  shop.Money total = 2;
  repeated string tags = 3;
  oneof payment { string card = 4; string iban = 5; }
}
""")
out = pathlib.Path(tempfile.mkdtemp())
assert protoc.main(["protoc", f"-I{src}", f"--python_out={out}", "shop/money.proto", "shop/orders.proto"]) == 0
sys.path.insert(0, str(out))
orders_pb2 = importlib.import_module("shop.orders_pb2")
money_pb2 = importlib.import_module("shop.money_pb2")

sr = SchemaRegistryClient({"url": base + "/schema-registry", "basic.auth.user.info": f"admin:{token}"})
subject = f"{project}.orders-value"
# Watershed's subjects are queues: the imported file is registered as the money queue's schema.
conf = {"use.deprecated.format": False,
        "reference.subject.name.strategy": lambda ctx, dep: f"{project}.money-value"}
serializer = ProtobufSerializer(orders_pb2.Order, sr, conf)
ctx = SerializationContext(f"{project}.orders", MessageField.VALUE)
order = orders_pb2.Order(id=42, total=money_pb2.Money(currency="EUR", units=1250), tags=["gift"], iban="DE00")
payload = serializer(order, ctx)
assert payload[0] == 0, "Confluent wire format"
schema_id = int.from_bytes(payload[1:5], "big")

deserializer = ProtobufDeserializer(orders_pb2.Order, {"use.deprecated.format": False}, schema_registry_client=sr)
got = deserializer(payload, ctx)
assert got == order, got
assert payload == serializer(order, ctx), "a second message reuses the registered schema"

# What was registered is readable .proto text with its reference, and the same again is found.
registered = sr.get_schema(schema_id)
assert registered.schema_type == "PROTOBUF", registered.schema_type
assert "message Order" in registered.schema_str and "import \"shop/money.proto\"" in registered.schema_str, \
    registered.schema_str
refs = [(r.name, r.subject, r.version) for r in registered.references]
assert refs == [("shop/money.proto", f"{project}.money-value", 1)], refs
latest = sr.get_latest_version(subject)
assert (latest.version, latest.schema_id) == (1, schema_id), latest
version = call("GET", f"/api/v1/queues/{project}/orders/schemas/1")
assert version["references"][0]["subject"] == f"{project}.money-value", version

# Changing a field's wire type breaks BACKWARD; renaming a field does not.
text = registered.schema_str
breaking = Schema(text.replace("int64 id = 1;", "string id = 1;"), "PROTOBUF", registered.references)
assert not sr.test_compatibility(subject, breaking), "int64 → string breaks BACKWARD"
renamed = Schema(text.replace("int64 id = 1;", "int64 order_id = 1;"), "PROTOBUF", registered.references)
assert sr.test_compatibility(subject, renamed), "a rename keeps the field number"
assert sr.register_schema(subject, renamed) != schema_id

print(f"protobuf: confluent-kafka {__import__('confluent_kafka').version()[0]} registered {subject} with its "
      f"import as a reference and read its messages back through Watershed")
