-- TLS to a cluster's brokers is part of its registration: on or off, the CA bundle the brokers'
-- certificates must lead to (empty: the system's roots), and an optional client certificate
-- whose private key is sealed like the SASL passwords.
ALTER TABLE clusters ADD COLUMN tls BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clusters ADD COLUMN tls_ca_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN tls_client_cert_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE clusters ADD COLUMN tls_client_key_enc TEXT;
