-- The write probe's role: it may insert into and read its probe table, and nothing else.
-- Run once, as a superuser, on the primary:
--   psql -v probe_password='…' -f probe-role.sql
-- then give the pipeline `user: failover_probe` and the password (Secrets Manager on AWS), with
-- `sslMode: verify-full` and the CA that signed the server certificate.
CREATE TABLE IF NOT EXISTS failover_probe (
  id bigserial PRIMARY KEY,
  probed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  cluster text NOT NULL,
  trigger_id text NOT NULL
);
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'failover_probe') THEN
    CREATE ROLE failover_probe LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 10;
  END IF;
END $$;
ALTER ROLE failover_probe PASSWORD :'probe_password';
-- PostgreSQL 15 already keeps PUBLIC from creating in schema public; older versions need this.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON failover_probe FROM PUBLIC;
GRANT INSERT, SELECT ON failover_probe TO failover_probe;
GRANT USAGE ON SEQUENCE failover_probe_id_seq TO failover_probe;
