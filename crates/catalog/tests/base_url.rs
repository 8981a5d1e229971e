//! `base_url_for` fills URL templates from form fields without letting a value move the host.

use std::collections::BTreeMap;

use keyway_catalog::load::Catalog;
use keyway_catalog::url_template::UrlTemplateError;

fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn renders_templated_hosts_and_paths() {
    let catalog = Catalog::builtin().expect("loads");
    let zendesk = catalog.get("zendesk").expect("zendesk");
    assert_eq!(
        zendesk.base_url_for(&values(&[("subdomain", "acme"), ("email", "a@b.c")])),
        Ok("https://acme.zendesk.com/api/v2".to_owned())
    );
    let jira = catalog.get("jira").expect("jira");
    assert_eq!(
        jira.base_url_for(&values(&[(
            "cloudId",
            "1324a887-45db-1bf4-1e99-ef0ff456d421"
        )])),
        Ok(
            "https://api.atlassian.com/ex/jira/1324a887-45db-1bf4-1e99-ef0ff456d421/rest/api/3"
                .to_owned()
        )
    );
    let stripe = catalog.get("stripe").expect("stripe");
    assert_eq!(
        stripe.base_url_for(&BTreeMap::new()),
        Ok("https://api.stripe.com/v1".to_owned())
    );
}

#[test]
fn rejects_values_that_would_change_the_host() {
    let catalog = Catalog::builtin().expect("loads");
    let zendesk = catalog.get("zendesk").expect("zendesk");
    for bad in [
        "evil.com/",
        "evil.com?x=",
        "evil.com#",
        "user@evil.com",
        "evil.com:8080",
        "evil com",
        "evil\\com",
        "%2e%2e",
        "",
    ] {
        let result = zendesk.base_url_for(&values(&[("subdomain", bad)]));
        assert!(
            matches!(result, Err(UrlTemplateError::UnsafeValue { ref name, .. }) if name == "subdomain"),
            "{bad:?} gave {result:?}"
        );
    }
}

#[test]
fn missing_field_is_reported() {
    let catalog = Catalog::builtin().expect("loads");
    let mailchimp = catalog.get("mailchimp").expect("mailchimp");
    assert_eq!(
        mailchimp.base_url_for(&BTreeMap::new()),
        Err(UrlTemplateError::MissingField { name: "dc".into() })
    );
}

#[test]
fn test_request_paths_use_the_same_rules() {
    let catalog = Catalog::builtin().expect("loads");
    let twilio = catalog.get("twilio").expect("twilio");
    let test = twilio.test_request().expect("twilio has a test request");
    let sid = format!("AC{}", "0".repeat(32));
    assert_eq!(
        test.path_for(&values(&[("accountSid", &sid)])),
        Ok(format!("/Accounts/{sid}.json"))
    );
    assert!(test.path_for(&values(&[("accountSid", "../x")])).is_err());
}

#[test]
fn field_values_are_checked_against_patterns() {
    let catalog = Catalog::builtin().expect("loads");
    let zendesk = catalog.get("zendesk").expect("zendesk");
    let good = values(&[("subdomain", "acme"), ("email", "a@b.c"), ("apiToken", "t")]);
    assert_eq!(zendesk.check_field_values(&good), Ok(()));
    let bad = values(&[("subdomain", "Acme!"), ("email", "a@b.c")]);
    let errors = zendesk.check_field_values(&bad).expect_err("bad values");
    assert_eq!(errors.len(), 2, "{errors:?}");
}
