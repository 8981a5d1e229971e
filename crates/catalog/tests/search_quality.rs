//! Search puts the obvious action first for natural requests over the shipped actions.

use keyway_catalog::load::Catalog;

/// (platform, query, expected method, expected path)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "github",
        "list issues",
        "GET",
        "/repos/{{owner}}/{{repo}}/issues",
    ),
    (
        "github",
        "create an issue",
        "POST",
        "/repos/{{owner}}/{{repo}}/issues",
    ),
    (
        "github",
        "open a pull request",
        "POST",
        "/repos/{{owner}}/{{repo}}/pulls",
    ),
    (
        "github",
        "get a repository",
        "GET",
        "/repos/{{owner}}/{{repo}}",
    ),
    (
        "github",
        "list commits",
        "GET",
        "/repos/{{owner}}/{{repo}}/commits",
    ),
    (
        "github",
        "comment on an issue",
        "POST",
        "/repos/{{owner}}/{{repo}}/issues/{{issue_number}}/comments",
    ),
    ("notion", "create a page", "POST", "/pages"),
    ("notion", "search pages by title", "POST", "/search"),
    (
        "notion",
        "append blocks to a page",
        "PATCH",
        "/blocks/{{block_id}}/children",
    ),
    (
        "gmail",
        "send email",
        "POST",
        "/users/{{userId}}/messages/send",
    ),
    (
        "gmail",
        "list messages",
        "GET",
        "/users/{{userId}}/messages",
    ),
    (
        "slack",
        "send a message to a channel",
        "POST",
        "/chat.postMessage",
    ),
    ("slack", "list channels", "GET", "/conversations.list"),
    ("stripe", "create a customer", "POST", "/customers"),
    ("stripe", "create a refund", "POST", "/refunds"),
    ("sendgrid", "send email", "POST", "/mail/send"),
    (
        "google-calendar",
        "create an event",
        "POST",
        "/calendars/{{calendarId}}/events",
    ),
    ("google-drive", "list files", "GET", "/files"),
    (
        "twilio",
        "send an sms",
        "POST",
        "/Accounts/{{AccountSid}}/Messages.json",
    ),
    ("jira", "create an issue", "POST", "/issue"),
    ("trello", "create a card", "POST", "/cards"),
    (
        "zoom",
        "create a meeting",
        "POST",
        "/users/{{userId}}/meetings",
    ),
    ("asana", "create a task", "POST", "/tasks"),
    (
        "mailchimp",
        "add a member to a list",
        "POST",
        "/lists/{{list_id}}/members",
    ),
];

#[test]
fn obvious_action_comes_first() {
    let catalog = Catalog::builtin().expect("loads");
    let mut failures = Vec::new();
    for (platform, query, method, path) in CASES {
        let hits = catalog.actions().search(platform, query, 5);
        let top: Vec<String> = hits
            .iter()
            .map(|a| format!("{} {} ({})", a.method(), a.path(), a.title()))
            .collect();
        let first = hits.first();
        let ok =
            first.is_some_and(|a| a.method().as_str() == *method && a.path().as_str() == *path);
        eprintln!(
            "{} {platform}: {query:?} → {}",
            if ok { "ok  " } else { "FAIL" },
            top.first().map_or("nothing", String::as_str)
        );
        if !ok {
            failures.push(format!(
                "{platform}: {query:?} expected {method} {path}, got {top:#?}"
            ));
        }
    }
    assert!(CASES.len() >= 20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
