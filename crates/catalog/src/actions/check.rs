//! Turns one actions file into `Action`s, or into the list of its problems (file + dotted field,
//! e.g. `actions[12].path`). Invariant: every action is checked even after an earlier one failed;
//! a file with any problem yields no action at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::actions::file::{ActionFile, ActionsFile};
use crate::actions::id::ActionId;
use crate::actions::path_template::PathTemplate;
use crate::actions::{Action, Body, Location, Method, Parameter, ResponseExample};
use crate::check::Problem;

/// Compiles `text` (the file at `file`, named `{stem}.json`); `platform_exists` says which slugs
/// the catalog holds.
pub fn compile(
    file: &Path,
    stem: &str,
    text: &str,
    platform_exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<Action>, Vec<Problem>> {
    let problem = |field: String, message: String| Problem::new(file, field, message);
    let raw: ActionsFile = match serde_json::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            return Err(vec![problem(
                String::new(),
                format!("not a valid actions file: {err}"),
            )])
        }
    };
    let mut problems = Vec::new();
    if raw.platform != stem {
        problems.push(problem(
            "platform".into(),
            format!("must equal the file name `{stem}`"),
        ));
    } else if !platform_exists(&raw.platform) {
        problems.push(problem(
            "platform".into(),
            format!("no platform `{}` in the catalog", raw.platform),
        ));
    }
    let mut actions = Vec::with_capacity(raw.actions.len());
    let mut routes: BTreeMap<(Method, String), usize> = BTreeMap::new();
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    for (index, action) in raw.actions.into_iter().enumerate() {
        let at = |field: &str| format!("actions[{index}].{field}");
        let mut found = Vec::new();
        let compiled = compile_action(&raw.platform, action, &mut |field, message| {
            found.push(problem(at(field), message))
        });
        if let Some(action) = compiled {
            let route = (action.method, action.path.as_str().to_owned());
            if let Some(first) = routes.insert(route, index) {
                found.push(problem(
                    at("path"),
                    format!("the same method and path as actions[{first}]"),
                ));
            }
            if let Some(first) = keys.insert(action.key.clone(), index) {
                found.push(problem(
                    at("key"),
                    format!("the same key as actions[{first}]"),
                ));
            }
            actions.push(action);
        }
        problems.extend(found);
    }
    if problems.is_empty() {
        Ok(actions)
    } else {
        Err(problems)
    }
}

fn compile_action(
    platform: &str,
    raw: ActionFile,
    report: &mut dyn FnMut(&str, String),
) -> Option<Action> {
    if raw.title.trim().is_empty() {
        report("title", "must not be empty".into());
    }
    let method = raw
        .method
        .parse::<Method>()
        .map_err(|e| report("method", e))
        .ok();
    if method.is_some_and(|m| m.as_str() != raw.method) {
        report("method", "must be written in uppercase".into());
    }
    let path = PathTemplate::parse(&raw.path)
        .map_err(|e| report("path", e))
        .ok();
    for (index, tag) in raw.tags.iter().enumerate() {
        if tag.trim().is_empty() {
            report(&format!("tags[{index}]"), "must not be empty".into());
        }
    }
    if let Some(key) = &raw.key {
        if key.trim().is_empty() || key.chars().any(char::is_whitespace) {
            report("key", "must be non-empty and hold no whitespace".into());
        }
    }
    let variables: BTreeSet<&str> = path
        .as_ref()
        .map(|p| p.variables().collect())
        .unwrap_or_default();
    let mut parameters = Vec::with_capacity(raw.parameters.len());
    let mut seen = BTreeSet::new();
    for (index, param) in raw.parameters.into_iter().enumerate() {
        let field = format!("parameters[{index}]");
        let location = match param.location.as_str() {
            "path" => Location::Path,
            "query" => Location::Query,
            "header" => Location::Header,
            other => {
                report(
                    &format!("{field}.in"),
                    format!("`{other}` is not one of path, query, header"),
                );
                continue;
            }
        };
        if param.name.trim().is_empty() {
            report(&format!("{field}.name"), "must not be empty".into());
        }
        if location == Location::Path && path.is_some() && !variables.contains(param.name.as_str())
        {
            report(
                &format!("{field}.name"),
                format!(
                    "path parameter `{}` is not in the path template",
                    param.name
                ),
            );
        }
        if !seen.insert((location.as_str(), param.name.clone())) {
            report(&format!("{field}.name"), "declared twice".into());
        }
        check_schema(&format!("{field}.schema"), &param.schema, report);
        parameters.push(Parameter {
            name: param.name,
            location,
            required: param.required || location == Location::Path,
            description: param.description,
            schema: param.schema,
        });
    }
    let body = raw.body.map(|body| {
        if body.content_type.trim().is_empty() || !body.content_type.contains('/') {
            report("body.contentType", "must be a media type".into());
        }
        check_schema("body.schema", &body.schema, report);
        Body {
            content_type: body.content_type,
            required: body.required,
            schema: body.schema,
            example: body.example,
        }
    });
    let response = raw.response.map(|r| {
        if !(100..=599).contains(&r.status) {
            report("response.status", "must be an HTTP status".into());
        }
        ResponseExample {
            status: r.status,
            example: r.example,
        }
    });
    let (method, path) = (method?, path?);
    let key = raw.key.unwrap_or_else(|| derived_key(method, &path));
    Some(Action {
        id: ActionId::derive(platform, method.as_str(), path.as_str()),
        platform: platform.to_owned(),
        key,
        title: raw.title,
        method,
        path,
        tags: raw.tags,
        description: raw.description,
        parameters,
        body,
        response,
        knowledge: raw.knowledge.filter(|k| !k.trim().is_empty()),
    })
}

fn check_schema(field: &str, schema: &Value, report: &mut dyn FnMut(&str, String)) {
    if !(schema.is_null() || schema.is_object() || schema.is_boolean()) {
        report(field, "must be a JSON Schema object".into());
    }
}

/// `get-repos-owner-repo-issues` for `GET /repos/{{owner}}/{{repo}}/issues`.
fn derived_key(method: Method, path: &PathTemplate) -> String {
    let mut key = method.as_str().to_ascii_lowercase();
    for c in path.as_str().chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.ends_with('-') {
            key.push('-');
        }
    }
    key.trim_end_matches('-').to_owned()
}
