-- Portcullis schema, PostgreSQL and CockroachDB (one file for both).
--
-- Tables and columns mirror ORY Hydra v1.10.3 after all of its migrations (hydra-reference.md §8);
-- columns that Hydra does not have are marked "New vs Hydra". The SQLite file defines the same
-- tables, columns and index names.
--
-- Conventions the store code relies on:
--   * Lists (scopes, audiences, URIs, grant/response types, contacts, CORS origins) are JSON text
--     arrays such as '["openid","offline"]', never Hydra's pipe-joined 'a|b' (a scope token or a URI
--     may itself contain '|'). Objects (jwks, metadata, context, oidc_context, error, session
--     claims) are JSON text objects. hydra_client.scope alone is the API's space-separated string.
--   * TIMESTAMP is "without time zone" and holds UTC; bind chrono::NaiveDateTime (DateTime<Utc> is
--     TIMESTAMPTZ to sqlx). Defaults exist for convenience only: the application binds every time.
--   * Integers are BIGINT (i64): CockroachDB reads INTEGER as INT8 anyway.
--   * Portable DDL only: no SERIAL, no extensions, no triggers, no IF NOT EXISTS. The migration runner
--     wraps this file in a transaction, so it holds no transaction statements.

-- OAuth 2.0 clients. Hydra's internal serial `pk` is dropped: `id` (the public client_id) is the key.
CREATE TABLE hydra_client (
    id                                   VARCHAR(255) NOT NULL PRIMARY KEY,
    client_name                          TEXT         NOT NULL DEFAULT '',
    client_secret                        TEXT         NOT NULL DEFAULT '', -- password hash, '' when none
    redirect_uris                        TEXT         NOT NULL DEFAULT '[]',
    grant_types                          TEXT         NOT NULL DEFAULT '[]',
    response_types                       TEXT         NOT NULL DEFAULT '[]',
    scope                                TEXT         NOT NULL DEFAULT '',
    owner                                TEXT         NOT NULL DEFAULT '',
    policy_uri                           TEXT         NOT NULL DEFAULT '',
    tos_uri                              TEXT         NOT NULL DEFAULT '',
    client_uri                           TEXT         NOT NULL DEFAULT '',
    logo_uri                             TEXT         NOT NULL DEFAULT '',
    contacts                             TEXT         NOT NULL DEFAULT '[]',
    client_secret_expires_at             BIGINT       NOT NULL DEFAULT 0,
    sector_identifier_uri                TEXT         NOT NULL DEFAULT '',
    jwks                                 TEXT         NOT NULL DEFAULT '{}',
    jwks_uri                             TEXT         NOT NULL DEFAULT '',
    request_uris                         TEXT         NOT NULL DEFAULT '[]',
    token_endpoint_auth_method           VARCHAR(25)  NOT NULL DEFAULT '',
    request_object_signing_alg           VARCHAR(10)  NOT NULL DEFAULT '',
    userinfo_signed_response_alg         VARCHAR(10)  NOT NULL DEFAULT '',
    subject_type                         VARCHAR(15)  NOT NULL DEFAULT '',
    allowed_cors_origins                 TEXT         NOT NULL DEFAULT '[]',
    audience                             TEXT         NOT NULL DEFAULT '[]',
    created_at                           TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at                           TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    frontchannel_logout_uri              TEXT         NOT NULL DEFAULT '',
    frontchannel_logout_session_required BOOLEAN      NOT NULL DEFAULT FALSE,
    post_logout_redirect_uris            TEXT         NOT NULL DEFAULT '[]',
    backchannel_logout_uri               TEXT         NOT NULL DEFAULT '',
    backchannel_logout_session_required  BOOLEAN      NOT NULL DEFAULT FALSE,
    metadata                             TEXT         NOT NULL DEFAULT '{}',
    token_endpoint_auth_signing_alg      VARCHAR(10)  NOT NULL DEFAULT ''
);

-- JSON Web Keys. keydata is the AEAD-sealed JWK JSON. Hydra's serial `pk` is replaced by the
-- natural key (sid, kid); newest key of a set first via (sid, created_at).
CREATE TABLE hydra_jwk (
    sid        VARCHAR(255) NOT NULL,
    kid        VARCHAR(255) NOT NULL,
    version    BIGINT       NOT NULL DEFAULT 0,
    keydata    TEXT         NOT NULL,
    created_at TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (sid, kid)
);
CREATE INDEX hydra_jwk_sid_created_at_idx ON hydra_jwk (sid, created_at);

-- Login sessions (the `sid`).
CREATE TABLE hydra_oauth2_authentication_session (
    id               VARCHAR(40)  NOT NULL PRIMARY KEY,
    authenticated_at TIMESTAMP    NULL,
    subject          VARCHAR(255) NOT NULL DEFAULT '',
    remember         BOOLEAN      NOT NULL DEFAULT FALSE,
    -- New vs Hydra: server-side session expiry (ttl.authentication_session); NULL = no expiry.
    expires_at       TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_authentication_session_sub_idx ON hydra_oauth2_authentication_session (subject);
CREATE INDEX hydra_oauth2_authentication_session_expires_at_idx ON hydra_oauth2_authentication_session (expires_at);

-- Login requests.
CREATE TABLE hydra_oauth2_authentication_request (
    challenge             VARCHAR(40)  NOT NULL PRIMARY KEY,
    verifier              VARCHAR(40)  NOT NULL,
    csrf                  VARCHAR(40)  NOT NULL,
    requested_scope       TEXT         NOT NULL DEFAULT '[]',
    requested_at_audience TEXT         NOT NULL DEFAULT '[]',
    subject               VARCHAR(255) NOT NULL DEFAULT '',
    request_url           TEXT         NOT NULL,
    skip                  BOOLEAN      NOT NULL DEFAULT FALSE,
    client_id             VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_authentication_request_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    requested_at          TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    authenticated_at      TIMESTAMP    NULL,
    oidc_context          TEXT         NOT NULL DEFAULT '{}',
    login_session_id      VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_authentication_request_login_session_id_fk
        REFERENCES hydra_oauth2_authentication_session (id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX hydra_oauth2_authentication_request_veri_idx ON hydra_oauth2_authentication_request (verifier);
CREATE INDEX hydra_oauth2_authentication_request_cid_idx ON hydra_oauth2_authentication_request (client_id);
CREATE INDEX hydra_oauth2_authentication_request_sub_idx ON hydra_oauth2_authentication_request (subject);
CREATE INDEX hydra_oauth2_authentication_request_login_session_id_idx ON hydra_oauth2_authentication_request (login_session_id);
CREATE INDEX hydra_oauth2_authentication_request_requested_at_idx ON hydra_oauth2_authentication_request (requested_at);

-- Login accept/reject. error is the reject payload as JSON, '{}' when accepted.
CREATE TABLE hydra_oauth2_authentication_request_handled (
    challenge                 VARCHAR(40)  NOT NULL PRIMARY KEY
        CONSTRAINT hydra_oauth2_authentication_request_handled_challenge_fk
        REFERENCES hydra_oauth2_authentication_request (challenge) ON DELETE CASCADE,
    subject                   VARCHAR(255) NOT NULL DEFAULT '',
    remember                  BOOLEAN      NOT NULL DEFAULT FALSE,
    remember_for              BIGINT       NOT NULL DEFAULT 0,
    error                     TEXT         NOT NULL DEFAULT '{}',
    acr                       TEXT         NOT NULL DEFAULT '',
    requested_at              TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    authenticated_at          TIMESTAMP    NULL,
    was_used                  BOOLEAN      NOT NULL DEFAULT FALSE,
    forced_subject_identifier VARCHAR(255) NOT NULL DEFAULT '',
    context                   TEXT         NOT NULL DEFAULT '{}'
);

-- Consent requests.
CREATE TABLE hydra_oauth2_consent_request (
    challenge                 VARCHAR(40)  NOT NULL PRIMARY KEY,
    verifier                  VARCHAR(40)  NOT NULL,
    csrf                      VARCHAR(40)  NOT NULL,
    client_id                 VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_consent_request_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    subject                   VARCHAR(255) NOT NULL DEFAULT '',
    request_url               TEXT         NOT NULL,
    skip                      BOOLEAN      NOT NULL DEFAULT FALSE,
    requested_scope           TEXT         NOT NULL DEFAULT '[]',
    requested_at_audience     TEXT         NOT NULL DEFAULT '[]',
    authenticated_at          TIMESTAMP    NULL,
    requested_at              TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    oidc_context              TEXT         NOT NULL DEFAULT '{}',
    forced_subject_identifier VARCHAR(255) NOT NULL DEFAULT '',
    login_session_id          VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_consent_request_login_session_id_fk
        REFERENCES hydra_oauth2_authentication_session (id) ON DELETE SET NULL,
    login_challenge           VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_consent_request_login_challenge_fk
        REFERENCES hydra_oauth2_authentication_request (challenge) ON DELETE SET NULL,
    acr                       TEXT         NOT NULL DEFAULT '',
    context                   TEXT         NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX hydra_oauth2_consent_request_veri_idx ON hydra_oauth2_consent_request (verifier);
CREATE INDEX hydra_oauth2_consent_request_cid_idx ON hydra_oauth2_consent_request (client_id);
CREATE INDEX hydra_oauth2_consent_request_sub_idx ON hydra_oauth2_consent_request (subject);
CREATE INDEX hydra_oauth2_consent_request_client_id_subject_idx ON hydra_oauth2_consent_request (client_id, subject);
CREATE INDEX hydra_oauth2_consent_request_login_session_id_idx ON hydra_oauth2_consent_request (login_session_id);
CREATE INDEX hydra_oauth2_consent_request_login_challenge_idx ON hydra_oauth2_consent_request (login_challenge);
CREATE INDEX hydra_oauth2_consent_request_requested_at_idx ON hydra_oauth2_consent_request (requested_at);

-- Consent accept/reject. Deleting a row (consent revocation) cascades to every token of the grant.
CREATE TABLE hydra_oauth2_consent_request_handled (
    challenge            VARCHAR(40) NOT NULL PRIMARY KEY
        CONSTRAINT hydra_oauth2_consent_request_handled_challenge_fk
        REFERENCES hydra_oauth2_consent_request (challenge) ON DELETE CASCADE,
    granted_scope        TEXT        NOT NULL DEFAULT '[]',
    granted_at_audience  TEXT        NOT NULL DEFAULT '[]',
    remember             BOOLEAN     NOT NULL DEFAULT FALSE,
    remember_for         BIGINT      NOT NULL DEFAULT 0,
    error                TEXT        NOT NULL DEFAULT '{}',
    requested_at         TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    authenticated_at     TIMESTAMP   NULL,
    session_access_token TEXT        NOT NULL DEFAULT '{}',
    session_id_token     TEXT        NOT NULL DEFAULT '{}',
    was_used             BOOLEAN     NOT NULL DEFAULT FALSE,
    handled_at           TIMESTAMP   NULL
);

-- Forced (obfuscated) subject identifiers per client.
CREATE TABLE hydra_oauth2_obfuscated_authentication_session (
    subject            VARCHAR(255) NOT NULL,
    client_id          VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_obfuscated_authentication_session_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    subject_obfuscated VARCHAR(255) NOT NULL,
    PRIMARY KEY (subject, client_id)
);
CREATE UNIQUE INDEX hydra_oauth2_obfuscated_authentication_session_so_idx ON hydra_oauth2_obfuscated_authentication_session (client_id, subject_obfuscated);

-- Logout requests.
CREATE TABLE hydra_oauth2_logout_request (
    challenge    VARCHAR(36)  NOT NULL PRIMARY KEY,
    verifier     VARCHAR(36)  NOT NULL,
    subject      VARCHAR(255) NOT NULL DEFAULT '',
    sid          VARCHAR(36)  NOT NULL DEFAULT '',
    client_id    VARCHAR(255) NULL
        CONSTRAINT hydra_oauth2_logout_request_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    request_url  TEXT         NOT NULL,
    redir_url    TEXT         NOT NULL DEFAULT '',
    was_used     BOOLEAN      NOT NULL DEFAULT FALSE,
    accepted     BOOLEAN      NOT NULL DEFAULT FALSE,
    rejected     BOOLEAN      NOT NULL DEFAULT FALSE,
    rp_initiated BOOLEAN      NOT NULL DEFAULT FALSE,
    -- New vs Hydra: creation time, so the janitor can purge abandoned logout requests.
    requested_at TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX hydra_oauth2_logout_request_veri_idx ON hydra_oauth2_logout_request (verifier);
CREATE INDEX hydra_oauth2_logout_request_client_id_idx ON hydra_oauth2_logout_request (client_id);
CREATE INDEX hydra_oauth2_logout_request_requested_at_idx ON hydra_oauth2_logout_request (requested_at);

-- Token tables. signature is the HMAC half of the opaque token (oidc: the whole authorization code;
-- JWT access tokens: hex SHA-384 of the JWT signature). request_id is shared by every token of one
-- grant (refresh rotation keeps it), so family revocation deletes by request_id. challenge_id is NULL
-- for grants without consent (client_credentials). session_data is AEAD-sealed session JSON.

CREATE TABLE hydra_oauth2_access (
    signature          VARCHAR(255) NOT NULL PRIMARY KEY,
    request_id         VARCHAR(40)  NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_access_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            VARCHAR(255) NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT TRUE,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_access_challenge_id_fk
        REFERENCES hydra_oauth2_consent_request_handled (challenge) ON DELETE CASCADE,
    -- New vs Hydra: when the token expires (expiry checks, flush); NULL = never.
    expires_at         TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_access_request_id_idx ON hydra_oauth2_access (request_id);
CREATE INDEX hydra_oauth2_access_client_id_idx ON hydra_oauth2_access (client_id);
CREATE INDEX hydra_oauth2_access_challenge_id_idx ON hydra_oauth2_access (challenge_id);
CREATE INDEX hydra_oauth2_access_client_id_subject_idx ON hydra_oauth2_access (client_id, subject);
CREATE INDEX hydra_oauth2_access_requested_at_idx ON hydra_oauth2_access (requested_at);
CREATE INDEX hydra_oauth2_access_expires_at_idx ON hydra_oauth2_access (expires_at);

CREATE TABLE hydra_oauth2_refresh (
    signature              VARCHAR(255) NOT NULL PRIMARY KEY,
    request_id             VARCHAR(40)  NOT NULL,
    requested_at           TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id              VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_refresh_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope                  TEXT         NOT NULL DEFAULT '[]',
    granted_scope          TEXT         NOT NULL DEFAULT '[]',
    form_data              TEXT         NOT NULL DEFAULT '',
    session_data           TEXT         NOT NULL,
    subject                VARCHAR(255) NOT NULL DEFAULT '',
    active                 BOOLEAN      NOT NULL DEFAULT TRUE,
    requested_audience     TEXT         NOT NULL DEFAULT '[]',
    granted_audience       TEXT         NOT NULL DEFAULT '[]',
    challenge_id           VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_refresh_challenge_id_fk
        REFERENCES hydra_oauth2_consent_request_handled (challenge) ON DELETE CASCADE,
    -- New vs Hydra: when the token expires (expiry checks, flush); NULL = never.
    expires_at             TIMESTAMP    NULL,
    -- New vs Hydra: signature of the access token issued together with this refresh token, deleted
    -- on rotation. Not a foreign key: the access row may already be gone (revoked, flushed).
    access_token_signature VARCHAR(255) NULL,
    -- New vs Hydra: when the token was spent (rotation); set once, by the request that wins.
    first_used_at          TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_refresh_request_id_idx ON hydra_oauth2_refresh (request_id);
CREATE INDEX hydra_oauth2_refresh_client_id_idx ON hydra_oauth2_refresh (client_id);
CREATE INDEX hydra_oauth2_refresh_challenge_id_idx ON hydra_oauth2_refresh (challenge_id);
CREATE INDEX hydra_oauth2_refresh_client_id_subject_idx ON hydra_oauth2_refresh (client_id, subject);
CREATE INDEX hydra_oauth2_refresh_requested_at_idx ON hydra_oauth2_refresh (requested_at);
CREATE INDEX hydra_oauth2_refresh_expires_at_idx ON hydra_oauth2_refresh (expires_at);

CREATE TABLE hydra_oauth2_code (
    signature          VARCHAR(255) NOT NULL PRIMARY KEY,
    request_id         VARCHAR(40)  NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_code_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            VARCHAR(255) NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT TRUE,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_code_challenge_id_fk
        REFERENCES hydra_oauth2_consent_request_handled (challenge) ON DELETE CASCADE,
    -- New vs Hydra: when the code expires (expiry checks, flush); NULL = never.
    expires_at         TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_code_request_id_idx ON hydra_oauth2_code (request_id);
CREATE INDEX hydra_oauth2_code_client_id_idx ON hydra_oauth2_code (client_id);
CREATE INDEX hydra_oauth2_code_challenge_id_idx ON hydra_oauth2_code (challenge_id);
CREATE INDEX hydra_oauth2_code_expires_at_idx ON hydra_oauth2_code (expires_at);

CREATE TABLE hydra_oauth2_oidc (
    signature          VARCHAR(255) NOT NULL PRIMARY KEY,
    request_id         VARCHAR(40)  NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_oidc_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            VARCHAR(255) NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT TRUE,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_oidc_challenge_id_fk
        REFERENCES hydra_oauth2_consent_request_handled (challenge) ON DELETE CASCADE,
    -- New vs Hydra: when the row expires (expiry checks, flush); NULL = never.
    expires_at         TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_oidc_request_id_idx ON hydra_oauth2_oidc (request_id);
CREATE INDEX hydra_oauth2_oidc_client_id_idx ON hydra_oauth2_oidc (client_id);
CREATE INDEX hydra_oauth2_oidc_challenge_id_idx ON hydra_oauth2_oidc (challenge_id);
CREATE INDEX hydra_oauth2_oidc_expires_at_idx ON hydra_oauth2_oidc (expires_at);

CREATE TABLE hydra_oauth2_pkce (
    signature          VARCHAR(255) NOT NULL PRIMARY KEY,
    request_id         VARCHAR(40)  NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          VARCHAR(255) NOT NULL
        CONSTRAINT hydra_oauth2_pkce_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            VARCHAR(255) NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT TRUE,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       VARCHAR(40)  NULL
        CONSTRAINT hydra_oauth2_pkce_challenge_id_fk
        REFERENCES hydra_oauth2_consent_request_handled (challenge) ON DELETE CASCADE,
    -- New vs Hydra: when the row expires (expiry checks, flush); NULL = never.
    expires_at         TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_pkce_request_id_idx ON hydra_oauth2_pkce (request_id);
CREATE INDEX hydra_oauth2_pkce_client_id_idx ON hydra_oauth2_pkce (client_id);
CREATE INDEX hydra_oauth2_pkce_challenge_id_idx ON hydra_oauth2_pkce (challenge_id);
CREATE INDEX hydra_oauth2_pkce_expires_at_idx ON hydra_oauth2_pkce (expires_at);

-- Spent private_key_jwt client-assertion jti values: signature = hex SHA-256 of the jti.
CREATE TABLE hydra_oauth2_jti_blacklist (
    signature  VARCHAR(64) NOT NULL PRIMARY KEY,
    expires_at TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX hydra_oauth2_jti_blacklist_expiry ON hydra_oauth2_jti_blacklist (expires_at);
