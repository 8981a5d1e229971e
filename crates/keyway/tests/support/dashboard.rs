//! A browser-like client for the dashboard over real HTTP: keeps cookies, never follows redirects (tests
//! look at them), reads the CSRF token and other values out of pages.

use std::collections::BTreeMap;

use super::TestApp;

pub const OWNER_EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

/// One browser: its own cookie jar.
pub struct Browser {
    pub base: String,
    client: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

/// A response read whole.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    /// The first form's CSRF token on the page.
    pub fn csrf(&self) -> String {
        between(&self.body, "name=\"_csrf\" value=\"", "\"").unwrap_or_else(|| {
            panic!(
                "no CSRF token on the page (HTTP {}): {}",
                self.status, self.body
            )
        })
    }

    /// The body with HTML's escapes undone, for reading text as a person sees it.
    pub fn text(&self) -> String {
        unescape(&self.body)
    }

    /// The `href` of the link marked `rel="{rel}"`, unescaped.
    pub fn link(&self, rel: &str) -> Option<String> {
        let at = self.body.find(&format!("\" rel=\"{rel}\""))?;
        let start = self.body[..at].rfind("href=\"")? + "href=\"".len();
        Some(unescape(&self.body[start..at]))
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// HTML's character references as askama writes them, undone.
pub fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text between `start` and the next `end` in `hay`.
pub fn between(hay: &str, start: &str, end: &str) -> Option<String> {
    let from = hay.find(start)? + start.len();
    let len = hay[from..].find(end)?;
    Some(hay[from..from + len].to_owned())
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, headers: &reqwest::header::HeaderMap) {
        for v in headers.get_all("set-cookie") {
            let Ok(v) = v.to_str() else { continue };
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                let removed = v.contains("Max-Age=0") || val.is_empty();
                if removed {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), val.to_owned());
                }
            }
        }
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.keep(&headers);
        let body = response.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.read(response).await
    }

    /// A form post as a browser sends it (same-origin).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, &[]).await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = request.send().await.expect("POST");
        self.read(response).await
    }

    /// Signs in; returns the page the sign-in redirected to.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/dashboard/sign-in").await;
        let csrf = form.csrf();
        self.post(
            "/dashboard/sign-in",
            &[("_csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// The first project's pages: `/dashboard/{project}/{env}`.
    pub async fn project_root(&mut self, env: &str) -> String {
        let home = self.get("/dashboard").await;
        assert_eq!(home.status, 303, "{}", home.body);
        let to = home.location().expect("redirect").to_owned();
        let project = to
            .trim_start_matches("/dashboard/")
            .split('/')
            .next()
            .expect("project")
            .to_owned();
        format!("/dashboard/{project}/{env}")
    }
}

/// Creates the first owner through the app's setup link and returns the signed-in browser.
pub async fn first_owner(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    let token = app.setup_token.clone().expect("setup link printed");
    let page = browser
        .get(&format!("/dashboard/setup?token={token}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let done = browser
        .post(
            "/dashboard/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    browser
}

/// Another account with `role`, through its one-time link; returns that account's signed-in browser.
pub async fn account_with_role(
    app: &TestApp,
    email: &str,
    role: keyway_core::operator::Role,
) -> Browser {
    use secrecy::ExposeSecret;
    let (_, link) = app
        .broker
        .create_operator(email, role, &keyway_core::audit::Actor::cli(Some("test")))
        .await
        .expect("create operator");
    let token = link.token.expose_secret().to_owned();
    let mut browser = Browser::new(app);
    let page = browser
        .get(&format!("/dashboard/password?token={token}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.csrf();
    let done = browser
        .post(
            "/dashboard/password",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    browser
}
