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
    modifiers(&SecretKeyScheme, &PassthroughMethods, &CommonResponses),
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

/// The answers every operation of a kind can give, added where an annotation does not already say more:
/// behind a secret key, 400 (malformed or disagreeing key headers), 401 and 429 with `Retry-After`;
/// behind an AuthKit session, 401; with query parameters, 400 (unknown, repeated or malformed); with a
/// JSON body, 400, 413 (over `max_body_bytes`) and 415 (not `application/json`).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::RefOr;
        use utoipa::openapi::{Content, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new().description(description).content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorResponse"))),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let schemes: Vec<String> = operation
                    .security
                    .iter()
                    .flatten()
                    .filter_map(|s| serde_json::to_value(s).ok())
                    .filter_map(|s| s.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
                    .flatten()
                    .collect();
                let secret_key = schemes.iter().any(|s| s == "secretKey");
                let session = schemes.iter().any(|s| s == "authkitSession");
                let query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == ParameterIn::Query);
                let json_body = operation
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                let responses = &mut operation.responses.responses;
                let add = |responses: &mut std::collections::BTreeMap<_, _>,
                           status: &str,
                           response: ResponseBuilder| {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| response.build().into());
                };
                if secret_key || query || json_body {
                    add(
                        responses,
                        "400",
                        error("A malformed request: parameters, body or headers (the code says which)"),
                    );
                }
                if secret_key || session {
                    add(responses, "401", error("No valid credential"));
                }
                if secret_key {
                    add(responses, "429", error("Over the secret key's rate limit"));
                    // An annotation's own 429 gets the header too.
                    if let Some(RefOr::T(limited)) = responses.get_mut("429") {
                        limited
                            .headers
                            .entry("Retry-After".to_owned())
                            .or_insert_with(|| {
                                HeaderBuilder::new()
                                    .schema(ObjectBuilder::new().schema_type(Type::Integer))
                                    .description(Some("Seconds to wait"))
                                    .build()
                            });
                    }
                }
                if json_body {
                    add(
                        responses,
                        "413",
                        error("The body is larger than max_body_bytes"),
                    );
                    add(
                        responses,
                        "415",
                        error("The body is not sent as application/json"),
                    );
                }
            }
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    // Patched as JSON: the walk reaches every schema a request uses without matching utoipa's types.
    let mut value = serde_json::to_value(&doc).expect("the document serialises");
    crate::input_schema::forbid_nul(&mut value);
    serde_json::from_value(value).expect("the patched document reads back")
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut s = document().to_pretty_json().unwrap_or_default();
    s.push('\n');
    s
}
