-- Applications, their credentials, access requests with their decisions, and grants.
CREATE TABLE applications (
    id BIGSERIAL PRIMARY KEY,
    project_id BIGINT NOT NULL REFERENCES projects(id),
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE app_tokens (
    id BIGSERIAL PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications(id),
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE access_requests (
    id BIGSERIAL PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications(id),
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    permission TEXT NOT NULL,
    reason TEXT NOT NULL,
    duration_days BIGINT,
    requester TEXT NOT NULL,
    needs_admin BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- At most one open request per application, queue and permission.
CREATE UNIQUE INDEX one_open_request ON access_requests (application_id, queue_id, permission)
    WHERE status IN ('pending', 'owner_approved');

CREATE TABLE request_events (
    id BIGSERIAL PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES access_requests(id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    comment TEXT NOT NULL
);

CREATE TABLE grants (
    id BIGSERIAL PRIMARY KEY,
    application_id BIGINT NOT NULL REFERENCES applications(id),
    queue_id BIGINT NOT NULL REFERENCES queues(id),
    permission TEXT NOT NULL,
    request_id BIGINT NOT NULL REFERENCES access_requests(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
