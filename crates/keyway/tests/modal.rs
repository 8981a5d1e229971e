//! The connect modal's page and scripts (pica-compat §7): frameable, only its own code, no redirect.
//! What it does in a browser is tested in `tests/browser/`.

mod support;

use support::spawn_app;

async fn get(app: &support::TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("request")
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn the_modal_page_is_frameable_html_that_runs_only_its_own_scripts() {
    let app = spawn_app().await;
    let r = get(&app, "/authkit").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        header(&r, "x-frame-options"),
        None,
        "the SDK frames the page"
    );
    let csp = header(&r, "content-security-policy").expect("a CSP");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self' https: http:"),
        "the customer's token endpoint is reachable: {csp}"
    );
    assert!(
        !csp.contains("frame-ancestors"),
        "any host page may frame it: {csp}"
    );
    assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&r, "cache-control"), Some("no-cache"));
    let html = r.text().await.expect("body");
    assert!(
        html.contains(r#"src="authkit/app.js?v="#),
        "assets are relative and versioned"
    );
    assert!(html.contains(r#"href="authkit/app.css?v="#));
}

#[tokio::test]
async fn the_page_ignores_its_query_and_never_redirects() {
    let app = spawn_app().await;
    let r = get(&app, "/authkit?data=eyJ0aXRsZSI6IngifQ%3D%3D").await;
    assert_eq!(r.status(), 200);
    assert!(header(&r, "location").is_none());
}

#[tokio::test]
async fn the_assets_and_the_embed_script_have_their_types() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/authkit/app.js?v=1", "text/javascript; charset=utf-8"),
        ("/authkit/app.css", "text/css; charset=utf-8"),
        ("/authkit.js", "text/javascript; charset=utf-8"),
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-type"), Some(content_type), "{path}");
        assert_eq!(
            header(&r, "x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
    let r = get(&app, "/authkit.js").await;
    assert_eq!(
        header(&r, "cross-origin-resource-policy"),
        Some("cross-origin")
    );
    assert!(r
        .text()
        .await
        .expect("body")
        .contains("window.KeywayAuthKit"));
}
