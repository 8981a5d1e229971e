//! A platform as the rest of Keyway sees it: identity, how to authenticate, where its API lives.
//! Invariant: a [`Platform`] only comes out of the catalog checks (its fields are private and it
//! has no public constructor), so every accessor returns already-validated data.

use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

use crate::auth::{AuthKind, OAuth2Config};
use crate::field::{self, FieldValueError, FormField};
use crate::inject::Injection;
use crate::slug::Slug;
use crate::test_request::TestRequest;
use crate::url_template::{UrlTemplate, UrlTemplateError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    GenerallyAvailable,
    Beta,
    Alpha,
}

#[derive(Debug, Clone)]
pub struct Platform {
    pub(crate) slug: Slug,
    pub(crate) name: String,
    pub(crate) category: String,
    pub(crate) description: String,
    pub(crate) logo: String,
    pub(crate) docs_url: Url,
    pub(crate) base_url: UrlTemplate,
    pub(crate) internal: bool,
    pub(crate) status: Status,
    pub(crate) tags: Vec<String>,
    pub(crate) auth_kind: AuthKind,
    pub(crate) oauth2: Option<OAuth2Config>,
    pub(crate) fields: Vec<FormField>,
    pub(crate) inject: Injection,
    pub(crate) test_request: Option<TestRequest>,
}

impl Platform {
    pub fn slug(&self) -> &Slug {
        &self.slug
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn category(&self) -> &str {
        &self.category
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// Logo file name; the bytes come from [`crate::load::Catalog::logo`].
    pub fn logo_file(&self) -> &str {
        &self.logo
    }

    pub fn docs_url(&self) -> &Url {
        &self.docs_url
    }

    /// The base URL template as written (may hold `{{field}}` placeholders).
    pub fn base_url(&self) -> &UrlTemplate {
        &self.base_url
    }

    /// `true` for test and private platforms: http and private hosts are allowed.
    pub fn is_internal(&self) -> bool {
        self.internal
    }

    pub fn status(&self) -> Status {
        self.status
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub fn auth_kind(&self) -> AuthKind {
        self.auth_kind
    }

    pub fn is_oauth(&self) -> bool {
        self.auth_kind.is_oauth()
    }

    /// `Some` exactly when [`Self::is_oauth`].
    pub fn oauth2(&self) -> Option<&OAuth2Config> {
        self.oauth2.as_ref()
    }

    pub fn fields(&self) -> &[FormField] {
        &self.fields
    }

    pub fn field(&self, name: &str) -> Option<&FormField> {
        self.fields.iter().find(|field| field.name == name)
    }

    pub fn secret_fields(&self) -> impl Iterator<Item = &FormField> {
        self.fields.iter().filter(|field| field.secret)
    }

    pub fn non_secret_fields(&self) -> impl Iterator<Item = &FormField> {
        self.fields.iter().filter(|field| !field.secret)
    }

    /// The effective injection, defaults applied (OAuth kinds: `Authorization: Bearer {{accessToken}}`;
    /// `bearer` with one secret field: `Authorization: Bearer {{thatField}}`; `none`: nothing).
    pub fn injection(&self) -> &Injection {
        &self.inject
    }

    pub fn test_request(&self) -> Option<&TestRequest> {
        self.test_request.as_ref()
    }

    /// The base URL for a connection with these form-field values, without a trailing `/`.
    /// Values that could change the host (holding `/ ? # @ :`, whitespace, …) are refused.
    pub fn base_url_for(
        &self,
        fields: &BTreeMap<String, String>,
    ) -> Result<String, UrlTemplateError> {
        let rendered = self.base_url.render(fields)?;
        Url::parse(&rendered).map_err(|err| UrlTemplateError::Unparseable {
            url: rendered.clone(),
            reason: err.to_string(),
        })?;
        Ok(rendered)
    }

    /// Checks connect-form values: required fields present, patterns match, no unknown fields.
    pub fn check_field_values(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<(), Vec<FieldValueError>> {
        field::check_values(&self.fields, values)
    }
}
