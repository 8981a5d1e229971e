//! Signing in and out, the first owner's setup link, and choosing a password with a one-time link.
//! These forms exist before any session, so their CSRF token comes from a pre-session cookie.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use keyway_broker::error::BrokerError;
use keyway_broker::operators::sessions::{SignedIn, ABSOLUTE_SECONDS};
use keyway_broker::operators::AccountError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::auth::ClientAddress;
use crate::dashboard::assets;
use crate::dashboard::chrome::Flash;
use crate::dashboard::form::{PublicForm, Submitted};
use crate::dashboard::page::{self, see_other};
use crate::dashboard::problem::broker_problem;
use crate::dashboard::session::{
    cookie_in, is_secure, session_cookie, Signed, COOKIE_PATH, PRESESSION_COOKIE, SESSION_COOKIE,
};
use crate::AppState;

/// The pre-session CSRF value from the cookie, or a new one (with the `Set-Cookie` that stores it).
fn presession(headers: &HeaderMap, secure: bool) -> (String, Option<String>) {
    match cookie_in(headers, PRESESSION_COOKIE) {
        Some(v) if v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (v.to_owned(), None)
        }
        _ => {
            let value = keyway_crypto::random::hex::<16>();
            let set = format!(
                "{PRESESSION_COOKIE}={value}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=86400{}",
                if secure { "; Secure" } else { "" }
            );
            (value, Some(set))
        }
    }
}

fn with_cookie(mut response: Response, set_cookie: Option<String>) -> Response {
    if let Some(v) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Where to go after signing in: only a dashboard path of this origin.
fn safe_next(next: &str) -> &str {
    let ok = (next == "/dashboard" || next.starts_with("/dashboard/"))
        && !next.contains("//")
        && !next.contains('\\');
    if ok {
        next
    } else {
        "/dashboard"
    }
}

/// Signed in: the session cookie set, on to `location`.
fn signed_in(state: &AppState, done: SignedIn, location: &str, flash: Option<Flash>) -> Response {
    let cookie = session_cookie(
        done.token.expose_secret(),
        ABSOLUTE_SECONDS,
        is_secure(state),
    );
    with_cookie(see_other(location, flash), Some(cookie))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    nonce: String,
    css: &'static str,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    bye: Option<String>,
}

/// `GET /dashboard/sign-in`
pub async fn sign_in_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref().unwrap_or("/dashboard")).to_owned();
    if let Some(token) = cookie_in(&headers, SESSION_COOKIE) {
        if let Ok(Some(_)) = state.broker.dashboard_session(token).await {
            return see_other(&next, None);
        }
    }
    let notice = q.bye.map(|_| "You are signed out.".to_owned());
    render_sign_in(
        &state,
        &headers,
        next,
        String::new(),
        None,
        notice,
        StatusCode::OK,
    )
}

fn render_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let (value, set) = presession(headers, is_secure(state));
    let p = SignInPage {
        nonce: page::nonce(),
        css: assets::css_url(),
        csrf: state.broker.csrf_token(&value),
        next,
        email,
        error,
        notice,
    };
    with_cookie(page::html(status, &p.nonce, p.render()), set)
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /dashboard/sign-in`
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    PublicForm(form): PublicForm<SignInForm>,
) -> Response {
    let next = safe_next(&form.next).to_owned();
    let password = SecretString::from(form.password);
    match state
        .broker
        .sign_in(&form.email, password, address.as_deref())
        .await
    {
        Ok(done) => signed_in(&state, done, &next, None),
        Err(BrokerError::Account(e @ AccountError::WrongCredentials)) => render_sign_in(
            &state,
            &headers,
            next,
            form.email,
            Some(e.to_string()),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        Err(BrokerError::Account(e @ AccountError::Throttled(_))) => render_sign_in(
            &state,
            &headers,
            next,
            form.email,
            Some(e.to_string()),
            None,
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => broker_problem(e),
    }
}

/// `POST /dashboard/sign-out`: ends this session everywhere (the row is deleted) and clears the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    Submitted { .. }: Submitted<super::Nothing>,
) -> Response {
    if let Err(e) = state.broker.end_dashboard_session(&signed.token).await {
        return broker_problem(e);
    }
    with_cookie(
        see_other("/dashboard/sign-in?bye=1", None),
        Some(session_cookie("", 0, is_secure(&state))),
    )
}

#[derive(Template)]
#[template(path = "choose_password.html")]
struct ChoosePasswordPage {
    nonce: String,
    css: &'static str,
    csrf: String,
    heading: &'static str,
    lede: &'static str,
    submit: &'static str,
    action: &'static str,
    valid: bool,
    ask_email: bool,
    token: String,
    email: String,
    error: Option<String>,
    error_field: &'static str,
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// What differs between the setup page and the choose-a-password page.
struct PasswordForm {
    setup: bool,
}

impl PasswordForm {
    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        valid: bool,
        token: String,
        email: String,
        error: Option<(&'static str, String)>,
        status: StatusCode,
    ) -> Response {
        let (value, set) = presession(headers, is_secure(state));
        let (error_field, error) = match error {
            Some((f, e)) => (f, Some(e)),
            None => ("", None),
        };
        let p = ChoosePasswordPage {
            nonce: page::nonce(),
            css: assets::css_url(),
            csrf: state.broker.csrf_token(&value),
            heading: if self.setup {
                "Create the owner account"
            } else {
                "Choose your password"
            },
            lede: if self.setup {
                "The first account owns this Keyway: it manages every project and every other account."
            } else {
                "This link works once. Choosing a password signs you in and ends your other sessions."
            },
            submit: if self.setup {
                "Create account and sign in"
            } else {
                "Save password and sign in"
            },
            action: if self.setup {
                "/dashboard/setup"
            } else {
                "/dashboard/password"
            },
            valid,
            ask_email: self.setup,
            token,
            email,
            error,
            error_field,
        };
        with_cookie(page::html(status, &p.nonce, p.render()), set)
    }
}

/// `GET /dashboard/setup?token=…`
pub async fn setup_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let token = q.token.unwrap_or_default();
    let valid = match state.broker.setup_link_is_live(&token).await {
        Ok(v) => v,
        Err(e) => return broker_problem(e),
    };
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    PasswordForm { setup: true }.render(&state, &headers, valid, token, String::new(), None, status)
}

#[derive(Deserialize)]
pub struct NewPasswordForm {
    token: String,
    #[serde(default)]
    email: String,
    password: String,
    confirm: String,
}

fn field_of(e: &AccountError) -> &'static str {
    match e {
        AccountError::InvalidEmail(_) | AccountError::EmailTaken => "email",
        _ => "password",
    }
}

/// `POST /dashboard/setup`: spends the setup link, creates the first owner, signs them in.
pub async fn setup(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    PublicForm(form): PublicForm<NewPasswordForm>,
) -> Response {
    let view = PasswordForm { setup: true };
    if form.password != form.confirm {
        let e = ("confirm", "The two passwords are not the same.".to_owned());
        return view.render(
            &state,
            &headers,
            true,
            form.token,
            form.email,
            Some(e),
            StatusCode::BAD_REQUEST,
        );
    }
    let created = state
        .broker
        .create_first_owner(
            &form.token,
            &form.email,
            SecretString::from(form.password),
            address.as_deref(),
        )
        .await;
    match created {
        Ok(operator) => match state.broker.start_session(&operator, address.as_deref()).await {
            Ok(done) => signed_in(
                &state,
                done,
                "/dashboard",
                Some(Flash::ok(format!(
                    "Welcome, {}. You own this Keyway: start by choosing the integrations your users may connect.",
                    operator.email
                ))),
            ),
            Err(e) => broker_problem(e),
        },
        Err(BrokerError::Account(e @ (AccountError::LinkInvalid | AccountError::AlreadySetUp))) => view.render(
            &state,
            &headers,
            false,
            String::new(),
            String::new(),
            Some(("", e.to_string())),
            StatusCode::GONE,
        ),
        Err(BrokerError::Account(e)) => {
            let field = field_of(&e);
            view.render(&state, &headers, true, form.token, form.email, Some((field, e.to_string())), StatusCode::BAD_REQUEST)
        }
        Err(e) => broker_problem(e),
    }
}

/// `GET /dashboard/password?token=…`
pub async fn password_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Response {
    let token = q.token.unwrap_or_default();
    let operator = match state.broker.password_link_operator(&token).await {
        Ok(o) => o,
        Err(e) => return broker_problem(e),
    };
    let view = PasswordForm { setup: false };
    match operator {
        Some(o) => view.render(&state, &headers, true, token, o.email, None, StatusCode::OK),
        None => view.render(
            &state,
            &headers,
            false,
            String::new(),
            String::new(),
            None,
            StatusCode::GONE,
        ),
    }
}

/// `POST /dashboard/password`: spends the link, sets the password, signs in.
pub async fn choose_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    PublicForm(form): PublicForm<NewPasswordForm>,
) -> Response {
    let view = PasswordForm { setup: false };
    let email = match state.broker.password_link_operator(&form.token).await {
        Ok(Some(o)) => o.email,
        Ok(None) => {
            return view.render(
                &state,
                &headers,
                false,
                String::new(),
                String::new(),
                None,
                StatusCode::GONE,
            )
        }
        Err(e) => return broker_problem(e),
    };
    if form.password != form.confirm {
        let e = ("confirm", "The two passwords are not the same.".to_owned());
        return view.render(
            &state,
            &headers,
            true,
            form.token,
            email,
            Some(e),
            StatusCode::BAD_REQUEST,
        );
    }
    match state
        .broker
        .set_password_with_link(
            &form.token,
            SecretString::from(form.password),
            address.as_deref(),
        )
        .await
    {
        Ok(operator) => match state
            .broker
            .start_session(&operator, address.as_deref())
            .await
        {
            Ok(done) => signed_in(
                &state,
                done,
                "/dashboard",
                Some(Flash::ok("Your password is saved and you are signed in.")),
            ),
            Err(e) => broker_problem(e),
        },
        Err(BrokerError::Account(AccountError::LinkInvalid)) => view.render(
            &state,
            &headers,
            false,
            String::new(),
            String::new(),
            None,
            StatusCode::GONE,
        ),
        Err(BrokerError::Account(e)) => view.render(
            &state,
            &headers,
            true,
            form.token,
            email,
            Some(("password", e.to_string())),
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => broker_problem(e),
    }
}
