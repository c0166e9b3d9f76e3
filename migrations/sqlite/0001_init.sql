-- Portcullis schema, SQLite.
--
-- Tables and columns mirror ORY Hydra v1.10.3 after all of its migrations (hydra-reference.md §8);
-- columns that Hydra does not have are marked "New vs Hydra". Same tables, columns and index names
-- as the PostgreSQL/CockroachDB file; only the types differ.
--
-- Conventions the store code relies on:
--   * Lists (scopes, audiences, URIs, grant/response types, contacts, CORS origins) are JSON text
--     arrays such as '["openid","offline"]', never Hydra's pipe-joined 'a|b' (a scope token or a URI
--     may itself contain '|'). Objects (jwks, metadata, context, oidc_context, error, session
--     claims) are JSON text objects. hydra_client.scope alone is the API's space-separated string.
--   * TIMESTAMP columns hold UTC as TEXT 'YYYY-MM-DD HH:MM:SS[.fff]' (CURRENT_TIMESTAMP's format and
--     sqlx's chrono::NaiveDateTime encoding), so text comparison orders them correctly. Bind
--     NaiveDateTime, not DateTime<Utc> (sqlx writes that as 'YYYY-MM-DDTHH:MM:SS+00:00', which does
--     not compare with the rest). Defaults exist for convenience only: the application binds every
--     time.
--   * BOOLEAN is stored as INTEGER 0/1; INTEGER is i64.
--   * Foreign keys are enforced only with PRAGMA foreign_keys = ON, which the application sets on
--     every connection. No PRAGMA or transaction statements here: the runner wraps the file.

-- OAuth 2.0 clients. Hydra's internal serial `pk` is dropped: `id` (the public client_id) is the key.
CREATE TABLE hydra_client (
    id                                   TEXT         NOT NULL PRIMARY KEY,
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
    client_secret_expires_at             INTEGER      NOT NULL DEFAULT 0,
    sector_identifier_uri                TEXT         NOT NULL DEFAULT '',
    jwks                                 TEXT         NOT NULL DEFAULT '{}',
    jwks_uri                             TEXT         NOT NULL DEFAULT '',
    request_uris                         TEXT         NOT NULL DEFAULT '[]',
    token_endpoint_auth_method           TEXT         NOT NULL DEFAULT '',
    request_object_signing_alg           TEXT         NOT NULL DEFAULT '',
    userinfo_signed_response_alg         TEXT         NOT NULL DEFAULT '',
    subject_type                         TEXT         NOT NULL DEFAULT '',
    allowed_cors_origins                 TEXT         NOT NULL DEFAULT '[]',
    audience                             TEXT         NOT NULL DEFAULT '[]',
    created_at                           TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at                           TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    frontchannel_logout_uri              TEXT         NOT NULL DEFAULT '',
    frontchannel_logout_session_required BOOLEAN      NOT NULL DEFAULT 0,
    post_logout_redirect_uris            TEXT         NOT NULL DEFAULT '[]',
    backchannel_logout_uri               TEXT         NOT NULL DEFAULT '',
    backchannel_logout_session_required  BOOLEAN      NOT NULL DEFAULT 0,
    metadata                             TEXT         NOT NULL DEFAULT '{}',
    token_endpoint_auth_signing_alg      TEXT         NOT NULL DEFAULT ''
);

-- JSON Web Keys. keydata is the AEAD-sealed JWK JSON. Hydra's serial `pk` is replaced by the
-- natural key (sid, kid); newest key of a set first via (sid, created_at).
CREATE TABLE hydra_jwk (
    sid        TEXT         NOT NULL,
    kid        TEXT         NOT NULL,
    version    INTEGER      NOT NULL DEFAULT 0,
    keydata    TEXT         NOT NULL,
    created_at TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (sid, kid)
);
CREATE INDEX hydra_jwk_sid_created_at_idx ON hydra_jwk (sid, created_at);

-- Login sessions (the `sid`).
CREATE TABLE hydra_oauth2_authentication_session (
    id               TEXT         NOT NULL PRIMARY KEY,
    authenticated_at TIMESTAMP    NULL,
    subject          TEXT         NOT NULL DEFAULT '',
    remember         BOOLEAN      NOT NULL DEFAULT 0,
    -- New vs Hydra: server-side session expiry (ttl.authentication_session); NULL = no expiry.
    expires_at       TIMESTAMP    NULL
);
CREATE INDEX hydra_oauth2_authentication_session_sub_idx ON hydra_oauth2_authentication_session (subject);
CREATE INDEX hydra_oauth2_authentication_session_expires_at_idx ON hydra_oauth2_authentication_session (expires_at);

-- Login requests.
CREATE TABLE hydra_oauth2_authentication_request (
    challenge             TEXT         NOT NULL PRIMARY KEY,
    verifier              TEXT         NOT NULL,
    csrf                  TEXT         NOT NULL,
    requested_scope       TEXT         NOT NULL DEFAULT '[]',
    requested_at_audience TEXT         NOT NULL DEFAULT '[]',
    subject               TEXT         NOT NULL DEFAULT '',
    request_url           TEXT         NOT NULL,
    skip                  BOOLEAN      NOT NULL DEFAULT 0,
    client_id             TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_authentication_request_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    requested_at          TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    authenticated_at      TIMESTAMP    NULL,
    oidc_context          TEXT         NOT NULL DEFAULT '{}',
    login_session_id      TEXT         NULL
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
    challenge                 TEXT         NOT NULL PRIMARY KEY
        CONSTRAINT hydra_oauth2_authentication_request_handled_challenge_fk
        REFERENCES hydra_oauth2_authentication_request (challenge) ON DELETE CASCADE,
    subject                   TEXT         NOT NULL DEFAULT '',
    remember                  BOOLEAN      NOT NULL DEFAULT 0,
    remember_for              INTEGER      NOT NULL DEFAULT 0,
    error                     TEXT         NOT NULL DEFAULT '{}',
    acr                       TEXT         NOT NULL DEFAULT '',
    requested_at              TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    authenticated_at          TIMESTAMP    NULL,
    was_used                  BOOLEAN      NOT NULL DEFAULT 0,
    forced_subject_identifier TEXT         NOT NULL DEFAULT '',
    context                   TEXT         NOT NULL DEFAULT '{}'
);

-- Consent requests.
CREATE TABLE hydra_oauth2_consent_request (
    challenge                 TEXT         NOT NULL PRIMARY KEY,
    verifier                  TEXT         NOT NULL,
    csrf                      TEXT         NOT NULL,
    client_id                 TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_consent_request_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    subject                   TEXT         NOT NULL DEFAULT '',
    request_url               TEXT         NOT NULL,
    skip                      BOOLEAN      NOT NULL DEFAULT 0,
    requested_scope           TEXT         NOT NULL DEFAULT '[]',
    requested_at_audience     TEXT         NOT NULL DEFAULT '[]',
    authenticated_at          TIMESTAMP    NULL,
    requested_at              TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    oidc_context              TEXT         NOT NULL DEFAULT '{}',
    forced_subject_identifier TEXT         NOT NULL DEFAULT '',
    login_session_id          TEXT         NULL
        CONSTRAINT hydra_oauth2_consent_request_login_session_id_fk
        REFERENCES hydra_oauth2_authentication_session (id) ON DELETE SET NULL,
    login_challenge           TEXT         NULL
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
    challenge            TEXT        NOT NULL PRIMARY KEY
        CONSTRAINT hydra_oauth2_consent_request_handled_challenge_fk
        REFERENCES hydra_oauth2_consent_request (challenge) ON DELETE CASCADE,
    granted_scope        TEXT        NOT NULL DEFAULT '[]',
    granted_at_audience  TEXT        NOT NULL DEFAULT '[]',
    remember             BOOLEAN     NOT NULL DEFAULT 0,
    remember_for         INTEGER     NOT NULL DEFAULT 0,
    error                TEXT        NOT NULL DEFAULT '{}',
    requested_at         TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP,
    authenticated_at     TIMESTAMP   NULL,
    session_access_token TEXT        NOT NULL DEFAULT '{}',
    session_id_token     TEXT        NOT NULL DEFAULT '{}',
    was_used             BOOLEAN     NOT NULL DEFAULT 0,
    handled_at           TIMESTAMP   NULL
);

-- Forced (obfuscated) subject identifiers per client.
CREATE TABLE hydra_oauth2_obfuscated_authentication_session (
    subject            TEXT         NOT NULL,
    client_id          TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_obfuscated_authentication_session_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    subject_obfuscated TEXT         NOT NULL,
    PRIMARY KEY (subject, client_id)
);
CREATE UNIQUE INDEX hydra_oauth2_obfuscated_authentication_session_so_idx ON hydra_oauth2_obfuscated_authentication_session (client_id, subject_obfuscated);

-- Logout requests.
CREATE TABLE hydra_oauth2_logout_request (
    challenge    TEXT         NOT NULL PRIMARY KEY,
    verifier     TEXT         NOT NULL,
    subject      TEXT         NOT NULL DEFAULT '',
    sid          TEXT         NOT NULL DEFAULT '',
    client_id    TEXT         NULL
        CONSTRAINT hydra_oauth2_logout_request_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    request_url  TEXT         NOT NULL,
    redir_url    TEXT         NOT NULL DEFAULT '',
    was_used     BOOLEAN      NOT NULL DEFAULT 0,
    accepted     BOOLEAN      NOT NULL DEFAULT 0,
    rejected     BOOLEAN      NOT NULL DEFAULT 0,
    rp_initiated BOOLEAN      NOT NULL DEFAULT 0,
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
    signature          TEXT         NOT NULL PRIMARY KEY,
    request_id         TEXT         NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_access_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            TEXT         NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT 1,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       TEXT         NULL
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
    signature              TEXT         NOT NULL PRIMARY KEY,
    request_id             TEXT         NOT NULL,
    requested_at           TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id              TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_refresh_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope                  TEXT         NOT NULL DEFAULT '[]',
    granted_scope          TEXT         NOT NULL DEFAULT '[]',
    form_data              TEXT         NOT NULL DEFAULT '',
    session_data           TEXT         NOT NULL,
    subject                TEXT         NOT NULL DEFAULT '',
    active                 BOOLEAN      NOT NULL DEFAULT 1,
    requested_audience     TEXT         NOT NULL DEFAULT '[]',
    granted_audience       TEXT         NOT NULL DEFAULT '[]',
    challenge_id           TEXT         NULL
        CONSTRAINT hydra_oauth2_refresh_challenge_id_fk
        REFERENCES hydra_oauth2_consent_request_handled (challenge) ON DELETE CASCADE,
    -- New vs Hydra: when the token expires (expiry checks, flush); NULL = never.
    expires_at             TIMESTAMP    NULL,
    -- New vs Hydra: signature of the access token issued together with this refresh token, deleted
    -- on rotation. Not a foreign key: the access row may already be gone (revoked, flushed).
    access_token_signature TEXT         NULL,
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
    signature          TEXT         NOT NULL PRIMARY KEY,
    request_id         TEXT         NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_code_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            TEXT         NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT 1,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       TEXT         NULL
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
    signature          TEXT         NOT NULL PRIMARY KEY,
    request_id         TEXT         NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_oidc_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            TEXT         NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT 1,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       TEXT         NULL
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
    signature          TEXT         NOT NULL PRIMARY KEY,
    request_id         TEXT         NOT NULL,
    requested_at       TIMESTAMP    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    client_id          TEXT         NOT NULL
        CONSTRAINT hydra_oauth2_pkce_client_id_fk
        REFERENCES hydra_client (id) ON DELETE CASCADE,
    scope              TEXT         NOT NULL DEFAULT '[]',
    granted_scope      TEXT         NOT NULL DEFAULT '[]',
    form_data          TEXT         NOT NULL DEFAULT '',
    session_data       TEXT         NOT NULL,
    subject            TEXT         NOT NULL DEFAULT '',
    active             BOOLEAN      NOT NULL DEFAULT 1,
    requested_audience TEXT         NOT NULL DEFAULT '[]',
    granted_audience   TEXT         NOT NULL DEFAULT '[]',
    challenge_id       TEXT         NULL
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
    signature  TEXT        NOT NULL PRIMARY KEY,
    expires_at TIMESTAMP   NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX hydra_oauth2_jti_blacklist_expiry ON hydra_oauth2_jti_blacklist (expires_at);
