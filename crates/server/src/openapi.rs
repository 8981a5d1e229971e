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
        session::integrations, session::connect, oauth::start, oauth::result, oauth::callback,
        connectors::list,
        actions::list, actions::search, knowledge::list,
        integrations::list, integrations::update,
        settings::show, settings::update,
        passthrough::forward,
        logs::list,
    ),
    components(schemas(crate::error::ErrorResponse)),
    modifiers(&SecretKeyScheme, &PassthroughMethods),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "vault", description = "Connections held for your users' identities"),
        (name = "authkit", description = "AuthKit tokens for the connect modal (secret key)"),
        (name = "authkit session", description = "What the connect modal does with an AuthKit session token"),
        (name = "oauth", description = "Where OAuth providers send the user back (also /oauth/callback): a page for the modal's popup"),
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

/// Passthrough takes GET, POST, PUT, PATCH and DELETE on one path. The handler is annotated once (as GET);
/// this copies that operation to the other four methods, each with its own operation id (client generators
/// name methods after them) and, for the methods that carry one, a request body streamed as is.
struct PassthroughMethods;

impl Modify for PassthroughMethods {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        use utoipa::openapi::{content::Content, request_body::RequestBodyBuilder, Required};
        let Some(item) = openapi.paths.paths.get_mut("/v1/passthrough/{path}") else {
            return;
        };
        let Some(mut get) = item.get.take() else {
            return;
        };
        let binary = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .build();
        let with = |method: &str, body: bool| {
            let mut op = get.clone();
            op.operation_id = Some(format!("passthrough_{method}"));
            if body {
                op.request_body = Some(
                    RequestBodyBuilder::new()
                        .description(Some(
                            "Sent to the platform as is, streamed, with its content-type; at most \
                             passthrough_max_body_bytes",
                        ))
                        .content("*/*", Content::new(Some(binary.clone())))
                        .required(Some(Required::False))
                        .build(),
                );
            }
            Some(op)
        };
        item.post = with("post", true);
        item.put = with("put", true);
        item.patch = with("patch", true);
        item.delete = with("delete", false);
        get.operation_id = Some("passthrough_get".to_owned());
        item.get = Some(get);
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
