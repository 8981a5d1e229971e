//! The actions shipped in `catalog/actions/`: they load, are numerous, fast to load, and well formed.

use std::time::Instant;

use keyway_catalog::actions::id::ActionId;
use keyway_catalog::load::Catalog;

#[test]
fn builtin_actions_load_quickly_and_are_valid() {
    let problems = keyway_catalog::check::check_builtin();
    assert!(problems.is_empty(), "{problems:#?}");
    let started = Instant::now();
    let catalog = Catalog::builtin().expect("built-in catalog loads");
    let elapsed = started.elapsed();
    let actions = catalog.actions();
    eprintln!(
        "loaded {} platforms and {} actions in {elapsed:?}",
        catalog.len(),
        actions.len()
    );
    for (platform, count) in actions.counts() {
        eprintln!("  {platform}: {count}");
    }
    assert!(actions.len() >= 2000, "only {} actions", actions.len());
    assert!(elapsed.as_secs_f64() < 2.0, "catalog load took {elapsed:?}");
    for action in actions.iter() {
        assert!(ActionId::well_formed(action.id().as_str()));
        assert!(action.path().as_str().starts_with('/'));
        assert!(catalog.get(action.platform()).is_some());
        assert_eq!(
            actions.get(action.id().as_str()).map(|a| a.id()),
            Some(action.id())
        );
    }
}

#[test]
fn knowledge_names_the_real_base_url() {
    let catalog = Catalog::builtin().expect("loads");
    let github = catalog.get("github").expect("github");
    let action = catalog
        .actions()
        .for_platform("github")
        .iter()
        .find(|a| {
            a.path().as_str() == "/repos/{{owner}}/{{repo}}/issues" && a.method().as_str() == "GET"
        })
        .expect("list repository issues");
    let knowledge = action.knowledge(github.base_url().as_str());
    assert!(
        knowledge.contains("GET https://api.github.com/repos/"),
        "{knowledge}"
    );
    assert!(knowledge.contains("## Path parameters"), "{knowledge}");
    assert!(
        knowledge.contains("## Example response (200)"),
        "{knowledge}"
    );
}
