"""Asks a broker for its consumer groups and fails if there are any.

Run after the end2end peek journey: looking inside a queue must never join, create or leave
behind a consumer group on the cluster.

Usage: peek_groups.py BROKER_ADDRESS
"""
import sys

from confluent_kafka.admin import AdminClient

admin = AdminClient({"bootstrap.servers": sys.argv[1]})
listed = admin.list_consumer_groups(request_timeout=10).result()
groups = sorted(g.group_id for g in listed.valid)
assert not listed.errors, listed.errors
assert groups == [], f"consumer groups on the broker after peeking: {groups}"
print("no consumer group on the broker after peeking")
