//! What a newcomer reads first holds: every file the README links to is in the
//! repository, and the layer order the README states (*Architecture*) is the one the code
//! follows: no `crate::` import runs up or across a floor, and no room is missing from
//! the list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The targets of the README's relative links (`[text](target)`), without `#anchors`.
fn relative_links(text: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("](") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].split('#').next().unwrap_or("").trim();
        let external = target.contains("://") || target.starts_with("mailto:");
        if !target.is_empty() && !external && !target.contains(' ') {
            links.push(target.to_string());
        }
        rest = &rest[end..];
    }
    links
}

#[test]
fn every_file_the_readme_links_to_is_in_the_repository() {
    let links = relative_links(&readme());
    assert!(
        links.iter().any(|l| l.starts_with("docs/menu/")),
        "the README links the menu's pictures: {links:?}"
    );
    let missing: Vec<&String> = links.iter().filter(|l| !root().join(l).is_file()).collect();
    assert!(
        missing.is_empty(),
        "README links to missing files: {missing:?}"
    );
    // A PNG is a picture, not a placeholder.
    for link in links.iter().filter(|l| l.ends_with(".png")) {
        let bytes = std::fs::read(root().join(link)).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000,
            "{link} is not a picture"
        );
    }
}

/// The floors the README's `layers` block states: room → floor.
fn stated_floors(text: &str) -> BTreeMap<String, usize> {
    let block = text
        .split("```layers\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the README's Architecture states the layers in a ```layers block");
    let mut floors = BTreeMap::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let floor: usize = words.next().unwrap().parse().unwrap();
        for room in words {
            assert!(
                floors.insert(room.to_string(), floor).is_none(),
                "{room} is listed twice"
            );
        }
    }
    floors
}

/// The room (top-level module) a source file belongs to: `src/sync/job.rs` → `sync`.
fn room_of(file: &Path) -> String {
    let relative = file.strip_prefix(root().join("src")).unwrap();
    let first = relative.components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The rooms `code` imports through `prefix` (`crate::`, or the library's name in
/// `main.rs`), including each name of a `prefix{a, b::c}` group. Line comments are left
/// out (doc links may point anywhere).
fn imported_rooms(code: &str, prefix: &str) -> Vec<String> {
    let mut rooms = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        rooms.push(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                rooms.push(name);
            }
        }
    }
    rooms
}

#[test]
fn imports_only_run_down_the_floors_the_readme_states() {
    let floors = stated_floors(&readme());
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut wrong = Vec::new();
    let mut unlisted = Vec::new();
    let mut arrows = 0;
    for file in &files {
        let room = room_of(file);
        if room == "lib" {
            continue;
        }
        let Some(&floor) = floors.get(&room) else {
            unlisted.push(room);
            continue;
        };
        let code = std::fs::read_to_string(file).unwrap();
        let prefix = match room.as_str() {
            "main" => "voripos_domain_sync::",
            _ => "crate::",
        };
        for target in imported_rooms(&code, prefix) {
            // `test_skip`: the tests' skip rule, compiled into unit tests only.
            if target == room || target == "self" || target == "test_skip" {
                continue;
            }
            arrows += 1;
            match floors.get(&target) {
                Some(&to) if to < floor => {}
                Some(&to) => wrong.push(format!(
                    "{}: {room} (floor {floor}) imports {target} (floor {to})",
                    file.display()
                )),
                None => unlisted.push(target),
            }
        }
    }
    unlisted.sort();
    unlisted.dedup();
    assert!(
        unlisted.is_empty(),
        "rooms missing from the README's layers: {unlisted:?}"
    );
    assert!(
        wrong.is_empty(),
        "imports that run up or across a floor:\n{}",
        wrong.join("\n")
    );
    assert!(arrows > 100, "the imports were read ({arrows} found)");
}

#[test]
fn the_import_reader_sees_groups_and_skips_comments() {
    let code = "use crate::status::{self, Event};\nuse crate::{config, litefs::Checksum};\n\
                // see crate::tray\nlet x = crate::sync::job::run();\nmy_crate::other();";
    assert_eq!(
        imported_rooms(code, "crate::"),
        ["status", "config", "litefs", "sync"]
    );
}
