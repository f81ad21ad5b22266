-- Single sign-on with an OpenID Connect provider.
-- Accounts linked to the provider's subject, with what the last sign-in or check saw.
CREATE TABLE sso_accounts (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    -- JSON array of the user's groups at the provider.
    groups TEXT NOT NULL,
    -- The refresh token, sealed with the secret key; NULL when the provider gave none.
    refresh_enc TEXT,
    signed_in_at BIGINT NOT NULL,
    checked_at BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);

-- Sign-ins in flight, by the hash of their state; taken (deleted) by the callback, so a state
-- works once.
CREATE TABLE sso_logins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    verifier_enc TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Sign-ins abandoned at the provider are dropped by age as new ones begin.
CREATE INDEX sso_logins_by_age ON sso_logins (created_at);

-- The project places the group mapping gave, so a place it gave can be taken back when the
-- group is gone, while places owners gave by hand stay.
CREATE TABLE sso_places (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    place TEXT NOT NULL,
    PRIMARY KEY (user_id, project_id)
);

-- The provider's ID token of a single sign-on session: the hint its logout sends.
ALTER TABLE sessions ADD COLUMN id_token TEXT;
