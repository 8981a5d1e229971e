//! The OpenAPI document, assembled from the handlers' annotations. A committed copy (`openapi.json` at the
//! repository root) is compared with this in the tests, so API changes show up in review.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    actions, authkit, connectors, integrations, knowledge, logs, oauth, ops, passthrough, session,
    settings, vault,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyway",
        description = "Self-hosted integration-auth broker, wire-compatible with Pica's public API. \
                       Authenticate with a secret key in `x-pica-secret` (or `x-keyway-secret`). \
                       Every error has the shape of `ErrorResponse`."
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        vault::list_connections, vault::get_connection, vault::import_connection, vault::update_connection,
        vault::delete_connection,
        authkit::create_token, authkit::user_flags,
        session::integrations, session::connect, oauth::start, oauth::result,
        connectors::list,
        actions::list, actions::search, knowledge::list,
        integrations::list, integrations::update,
        settings::show, settings::update,
        passthrough::forward,
        logs::list,
    ),
    components(schemas(crate::error::ErrorResponse)),
    modifiers(&SecretKeyScheme),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "vault", description = "Connections held for your users' identities"),
        (name = "authkit", description = "AuthKit tokens for the connect modal (secret key)"),
        (name = "authkit session", description = "What the connect modal does with an AuthKit session token"),
        (name = "catalog", description = "Platforms Keyway can connect, their actions and action knowledge"),
        (name = "logs", description = "Passthrough request log"),
        (name = "passthrough", description = "Call a platform's API as a connection"),
        (name = "integrations", description = "Per-environment integration settings: AuthKit visibility, your OAuth apps"),
        (name = "settings", description = "Per-environment project settings, e.g. requiring action ids on passthrough"),
    )
)]
struct ApiDoc;

struct SecretKeyScheme;

impl Modify for SecretKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "secretKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-pica-secret",
                "sk_test_… or sk_live_…; x-keyway-secret is accepted too",
            ))),
        );
        components.add_security_scheme(
            "authkitSession",
            SecurityScheme::Http(
                utoipa::openapi::security::HttpBuilder::new()
                    .scheme(utoipa::openapi::security::HttpAuthScheme::Bearer)
                    .description(Some("The sessionToken from POST /v1/authkit (akt_…)"))
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
