"""The OpenLineage Python client (as Airflow, Spark and Flink integrations use it) emitting run
events to a running Watershed: Kafka datasets must land on the queues whose physical topics
they name, with the job between them. Usage: openlineage_events.py BASE_URL ADMIN_PASSWORD
"""
import sys
import time
from datetime import datetime, timezone

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from session import Session

base, admin_password = sys.argv[1], sys.argv[2]
session = Session(base, admin_password)
token = session.token("openlineage-test")

project = f"ol-{int(time.time() * 1000) % 10**9}"
session.call("POST", "/api/v1/projects", {"name": project})
for queue in ["clicks", "sessions"]:
    session.call("POST", "/api/v1/queues", {"project": project, "name": queue, "primary_cluster": "kafka-bj-1"})

# The client's default endpoint is api/v1/lineage; its api_key auth sends a Bearer token.
client = OpenLineageClient(transport=HttpTransport(HttpConfig(
    url=base, auth=ApiKeyTokenProvider({"apiKey": token}))))
namespace = "kafka://kafka-bj-1a:9092,kafka-bj-1b:9092"
job = Job(namespace="flink://e2e", name=f"{project}-sessionize")
run = Run(runId=str(generate_new_uuid()))
for state in [RunState.START, RunState.COMPLETE]:
    client.emit(RunEvent(
        eventType=state,
        eventTime=datetime.now(timezone.utc).isoformat(),
        run=run,
        job=job,
        producer="https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        inputs=[InputDataset(namespace=namespace, name=f"{project}.clicks"),
                InputDataset(namespace="s3://bucket", name="raw/clicks")],
        outputs=[OutputDataset(namespace=namespace, name=f"{project}.sessions")],
    ))

job_key = f"job:flink://e2e/{project}-sessionize"
path = session.call("GET", f"/api/v1/lineage/path?from=queue:{project}/clicks&to=queue:{project}/sessions")
edges = {(e["from"], e["to"]): e for e in path["edges"]}
assert (f"queue:{project}/clicks", job_key) in edges, path
assert (job_key, f"queue:{project}/sessions") in edges, path
assert edges[(f"queue:{project}/clicks", job_key)]["messages"] == 1, "one completed run"
exported = session.call("GET", "/api/v1/lineage/export")
assert any(n["key"] == job_key and n["kind"] == "job" for n in exported["nodes"]), "job not exported"
audit = session.call("GET", "/api/v1/audit?action=lineage.run_event&target=" + project)
assert audit["total"] == 2, audit
print(f"openlineage-python: {job_key} reads {project}/clicks and writes {project}/sessions")
