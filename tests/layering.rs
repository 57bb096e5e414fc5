//! The crate's top-level modules form layers, and a module imports only from layers
//! below its own: no import cycle, and the no-I/O core never reaches up to the
//! service. A new module must be placed in `LAYERS` before this test passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // The one-time-password core (with its errors, Key URIs and QR codes): no I/O, no
    // clock, builds without std.
    &["otp"],
    // The words every layer shares.
    &["vocabulary", "few", "cache_line"],
    // What the record is made of.
    &["keyed_hash", "seal"],
    &["danger"],
    // The record, the policy that reads it, the events that describe its changes.
    &["record"],
    &["policy"],
    &["event"],
    // Refusals and events in the user's language.
    &["messages"],
    // Pure transitions on the record.
    &["flow"],
    &["assurance"],
    // The ports a host implements.
    &["clock", "notify", "store", "relying_party"],
    // The drivers: the service, and the notice relay beside it.
    &["service", "relay"],
    &["prelude"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules each top-level module refers to through `crate::` in code.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let first = relative.components().next().expect("a component").as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let source = std::fs::read_to_string(&file).expect("read source");
        // Doc links may point anywhere; only code imports.
        let text: String = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        let used = graph.entry(module.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let mut names = Vec::new();
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c};`
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    names.push(item.trim().split("::").next().unwrap_or("").to_string());
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                names.push(name);
            }
            for name in names {
                let is_module = src.join(format!("{name}.rs")).exists() || src.join(&name).is_dir();
                if is_module && name != module {
                    used.insert(name);
                }
            }
        }
    }
    graph
}

#[test]
fn every_module_imports_only_from_layers_below_its_own() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = imports(&src);
    let mut wrong = Vec::new();
    for (module, used) in &graph {
        let Some(own) = layer_of(module) else {
            wrong.push(format!("`{module}` is in no layer: add it to LAYERS in tests/layering.rs"));
            continue;
        };
        for target in used {
            match layer_of(target) {
                Some(theirs) if theirs < own => {}
                _ => {
                    wrong.push(format!("`{module}` (layer {own}) imports `{target}`, which is not below it"))
                }
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
    // The layers are a strict order, so there can be no cycle; check the graph was read.
    assert!(graph.get("service").is_some_and(|used| used.contains("flow") && used.contains("store")));
    assert!(graph.get("flow").is_some_and(|used| used.contains("record") && !used.contains("service")));
}
