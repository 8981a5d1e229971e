//! Actions files in a custom catalog folder: they add and replace actions, every problem is reported with
//! file and field, and the OpenAPI importer's output (Swagger 2.0 YAML, OpenAPI 3 JSON) loads as is.

mod support;

use std::fs;

use keyway_catalog::load::Catalog;
use support::{CatalogDir, ACME};

fn write_actions(dir: &CatalogDir, stem: &str, text: &str) {
    fs::create_dir_all(dir.path().join("actions")).expect("mkdir");
    fs::write(
        dir.path().join("actions").join(format!("{stem}.json")),
        text,
    )
    .expect("write");
}

#[test]
fn custom_actions_add_and_replace() {
    let dir = CatalogDir::new();
    dir.platform("acme", ACME);
    write_actions(
        &dir,
        "acme",
        r#"{"platform": "acme", "actions": [
            {"title": "List things", "method": "GET", "path": "/things"},
            {"title": "Get a thing", "method": "GET", "path": "/things/{{id}}",
             "parameters": [{"name": "id", "in": "path", "description": "The thing"}]}]}"#,
    );
    write_actions(
        &dir,
        "github",
        r#"{"platform": "github", "actions": [
            {"title": "Issues of a repo (ours)", "method": "GET", "path": "/repos/{{owner}}/{{repo}}/issues"}]}"#,
    );
    let builtin = Catalog::builtin().expect("loads");
    let catalog = Catalog::load(true, Some(dir.path())).expect("custom loads");
    assert_eq!(catalog.actions().len(), builtin.actions().len() + 2);
    assert_eq!(catalog.actions().for_platform("acme").len(), 2);
    let replaced = catalog
        .actions()
        .for_platform("github")
        .iter()
        .find(|a| {
            a.path().as_str() == "/repos/{{owner}}/{{repo}}/issues" && a.method().as_str() == "GET"
        })
        .expect("still there");
    assert_eq!(replaced.title(), "Issues of a repo (ours)");
    let original = builtin
        .actions()
        .for_platform("github")
        .iter()
        .find(|a| {
            a.path().as_str() == "/repos/{{owner}}/{{repo}}/issues" && a.method().as_str() == "GET"
        })
        .expect("built in");
    assert_eq!(
        replaced.id(),
        original.id(),
        "ids depend on platform, method and path only"
    );
    let thing = &catalog.actions().for_platform("acme")[1];
    assert_eq!(thing.key(), "get-things-id");
    let knowledge = thing.knowledge("https://{{subdomain}}.acme.example.com/api");
    assert!(
        knowledge.contains("GET https://{{subdomain}}.acme.example.com/api/things/<id>"),
        "{knowledge}"
    );
    assert!(
        knowledge.contains("- id (any, required): The thing"),
        "{knowledge}"
    );
}

#[test]
fn every_action_problem_is_reported_with_file_and_field() {
    let dir = CatalogDir::new();
    dir.platform("acme", ACME);
    write_actions(
        &dir,
        "acme",
        r#"{"platform": "acme", "actions": [
            {"title": "", "method": "FETCH", "path": "things"},
            {"title": "Ok", "method": "get", "path": "/a/{x}"},
            {"title": "Dup 1", "method": "GET", "path": "/dup"},
            {"title": "Dup 2", "method": "GET", "path": "/dup"},
            {"title": "Param", "method": "GET", "path": "/p", "parameters": [{"name": "id", "in": "path"}, {"name": "q", "in": "cookie"}]}]}"#,
    );
    write_actions(&dir, "nowhere", r#"{"platform": "nowhere", "actions": []}"#);
    write_actions(&dir, "broken", "{");
    fs::write(dir.path().join("actions/notes.txt"), "x").expect("write");
    let problems: Vec<String> = dir.problems().iter().map(ToString::to_string).collect();
    let expect = [
        ("acme.json", "actions[0].title"),
        ("acme.json", "actions[0].method"),
        ("acme.json", "actions[0].path"),
        (
            "acme.json",
            "actions[1].method: must be written in uppercase",
        ),
        ("acme.json", "actions[1].path"),
        (
            "acme.json",
            "actions[3].path: the same method and path as actions[2]",
        ),
        ("acme.json", "actions[4].parameters[0].name"),
        ("acme.json", "actions[4].parameters[1].in"),
        ("nowhere.json", "platform: no platform `nowhere`"),
        ("broken.json", "not a valid actions file"),
        ("notes.txt", "actions files must end in `.json`"),
    ];
    for (file, text) in expect {
        assert!(
            problems
                .iter()
                .any(|p| p.contains(file) && p.contains(text)),
            "missing {file} {text} in {problems:#?}"
        );
    }
    assert!(Catalog::load(true, Some(dir.path())).is_err());
}

const SWAGGER: &str = r##"
swagger: "2.0"
info: {title: Acme, version: "1"}
basePath: /api
consumes: [application/json]
parameters:
  ThingId: {name: thingId, in: path, required: true, type: string, description: The thing's id}
definitions:
  Thing:
    type: object
    required: [name]
    properties:
      name: {type: string, description: What it is called}
      parent: {$ref: "#/definitions/Thing"}
paths:
  /things:
    get:
      summary: List things
      tags: [things]
      parameters:
        - {name: limit, in: query, type: integer}
      responses:
        "200": {description: ok, schema: {type: array, items: {$ref: "#/definitions/Thing"}}}
    post:
      operationId: createThing
      parameters:
        - {name: body, in: body, required: true, schema: {$ref: "#/definitions/Thing"}}
      responses: {"201": {description: created}}
  /things/{thingId}:
    parameters: [{$ref: "#/parameters/ThingId"}]
    get:
      summary: Get a thing.
      responses: {"200": {description: ok, examples: {application/json: {name: box}}}}
    options:
      responses: {"200": {description: ok}}
  /things/{thingId}/upload:
    post:
      summary: Upload a file
      consumes: [multipart/form-data]
      parameters:
        - {$ref: "#/parameters/ThingId"}
        - {name: file, in: formData, type: file, required: true}
      responses: {"204": {description: done}}
"##;

const OPENAPI3: &str = r##"{
  "openapi": "3.0.0",
  "servers": [{"url": "https://{region}.acme.example.com/{base}", "variables": {"region": {"default": "eu"}, "base": {"default": "api"}}}],
  "paths": {
    "/widgets": {"post": {"summary": "Create a widget", "requestBody": {"$ref": "#/components/requestBodies/Widget"},
      "responses": {"201": {"description": "ok", "content": {"application/json": {"example": {"id": "w_1", "items": [1, 2, 3]}}}}}}},
    "/old": {"get": {"summary": "Old", "deprecated": true, "responses": {}}},
    "/elsewhere/{x}": {"delete": {"summary": "Gone", "responses": {}}}
  },
  "components": {"requestBodies": {"Widget": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}}
}"##;

#[test]
fn importer_reads_swagger_2_yaml_and_openapi_3_json() {
    let dir = CatalogDir::new();
    dir.platform("acme", ACME);
    let catalog = Catalog::load(false, Some(dir.path())).expect("loads");
    let acme = catalog.get("acme").expect("acme");

    let mut calls = 0;
    let swagger =
        keyway_catalog::openapi::import(SWAGGER, acme, &mut |_, _| calls += 1).expect("imports");
    assert_eq!(calls, 5, "progress after each operation");
    assert_eq!(swagger.actions.len(), 4);
    assert_eq!(swagger.skipped.len(), 1);
    assert_eq!(swagger.skipped[0].operation, "OPTIONS /things/{thingId}");
    let get = swagger
        .actions
        .iter()
        .find(|a| a.path == "/things/{{thingId}}")
        .expect("get");
    assert_eq!(get.title, "Get a thing");
    assert_eq!(get.parameters[0].description, "The thing's id");
    let create = swagger
        .actions
        .iter()
        .find(|a| a.method == "POST" && a.path == "/things")
        .expect("create");
    assert_eq!(create.title, "Create thing");
    let body = create.body.as_ref().expect("body");
    assert_eq!(body.content_type, "application/json");
    assert_eq!(body.schema["properties"]["name"]["type"], "string");
    assert!(!serde_json::to_string(&body.schema)
        .expect("json")
        .contains("$ref"));
    let upload = swagger
        .actions
        .iter()
        .find(|a| a.path.ends_with("/upload"))
        .expect("upload");
    assert_eq!(
        upload.body.as_ref().map(|b| b.content_type.as_str()),
        Some("multipart/form-data")
    );

    let openapi = keyway_catalog::openapi::import(OPENAPI3, acme, &mut |_, _| {}).expect("imports");
    assert_eq!(openapi.actions.len(), 2, "{:?}", openapi.skipped);
    let widget = &openapi
        .actions
        .iter()
        .find(|a| a.path == "/widgets")
        .expect("widgets");
    assert_eq!(
        widget
            .body
            .as_ref()
            .map(|b| b.schema["properties"]["size"]["type"].clone()),
        Some("integer".into())
    );
    assert_eq!(
        widget.response.as_ref().and_then(|r| r.example.clone()),
        Some(serde_json::json!({"id": "w_1", "items": [1]}))
    );
    let reasons: Vec<&str> = openapi.skipped.iter().map(|s| s.reason.as_str()).collect();
    assert_eq!(reasons, ["deprecated"]);

    let out = dir.path().join("actions");
    keyway_catalog::openapi::write::merge_into(&out, "acme", "swagger", swagger.actions)
        .expect("write");
    let (_, total) =
        keyway_catalog::openapi::write::merge_into(&out, "acme", "openapi", openapi.actions)
            .expect("write");
    assert_eq!(total, 6);
    let reloaded = Catalog::load(false, Some(dir.path())).expect("imported actions load");
    assert_eq!(reloaded.actions().for_platform("acme").len(), 6);
    assert!(dir.problems().is_empty(), "{:?}", dir.problems());
}
