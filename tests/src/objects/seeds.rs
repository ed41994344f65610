//! Users' own MetalLB configuration, as YAML documents: the checked-in examples
//! (`examples/metallb/*.yaml`, multi-document files) and, where a folder of seed documents
//! sits beside the repository, the seed documents themselves (users' prose with fenced
//! ```yaml blocks or bare YAML between paragraphs). [`example_files`] and [`split_documents`]
//! give the examples' documents, [`seed_dir`] and [`yaml_documents`] the seeds'; the seed suite
//! applies every one of them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The checked-in example files, `examples/metallb/*.yaml`, in name order.
pub fn example_files() -> std::io::Result<Vec<PathBuf>> {
    let dir = crate::repo_root().join("examples").join("metallb");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The folder of seed documents, if there is one: `$FERROLB_SEEDS` when set (whether or not
/// it exists, so that a wrong setting fails loudly), else `shared/seeds` in the folder that
/// holds the repository, when that exists. A clone on its own has none.
pub fn seed_dir() -> Option<PathBuf> {
    seed_dir_for(std::env::var_os("FERROLB_SEEDS"), &crate::repo_root())
}

fn seed_dir_for(setting: Option<OsString>, repo: &Path) -> Option<PathBuf> {
    if let Some(dir) = setting {
        return Some(PathBuf::from(dir));
    }
    let beside = repo.parent()?.join("shared").join("seeds");
    beside.is_dir().then_some(beside)
}

/// Every YAML document (with a `kind:`) in a text: the fenced ```yaml / ```yml blocks, and the
/// runs of bare YAML that start at a top-level `apiVersion:` line outside any fence.
pub fn yaml_documents(text: &str) -> Vec<String> {
    let mut blocks: Vec<String> = Vec::new();
    let mut prose: Vec<&str> = Vec::new();
    let mut fence: Option<(String, bool)> = None; // (the fence marker, whether it is YAML)
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &fence {
            None if trimmed.starts_with("```") => {
                let lang = trimmed.trim_start_matches('`').trim().to_ascii_lowercase();
                fence = Some(("```".into(), lang == "yaml" || lang == "yml"));
                blocks.extend(bare_yaml_runs(&prose));
                prose.clear();
            }
            None => prose.push(line),
            Some((marker, is_yaml)) if trimmed.starts_with(marker.as_str()) => {
                if *is_yaml {
                    blocks.push(std::mem::take(&mut current));
                }
                current.clear();
                fence = None;
            }
            Some((_, true)) => {
                current.push_str(line);
                current.push('\n');
            }
            Some((_, false)) => {}
        }
    }
    blocks.extend(bare_yaml_runs(&prose));
    blocks.iter().flat_map(|b| split_documents(b)).collect()
}

/// Runs of YAML-looking lines that start at a top-level `apiVersion:` in prose.
fn bare_yaml_runs(lines: &[&str]) -> Vec<String> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("apiVersion:") {
            i += 1;
            continue;
        }
        let mut run = String::new();
        while i < lines.len() && looks_like_yaml(lines[i]) {
            run.push_str(lines[i]);
            run.push('\n');
            i += 1;
        }
        runs.push(run);
    }
    runs
}

/// Whether a line of prose can belong to a YAML document: blank, indented, a comment, a
/// document separator, a list item, or a `key:` at the top level.
fn looks_like_yaml(line: &str) -> bool {
    if line.trim().is_empty()
        || line.starts_with(' ')
        || line.starts_with('#')
        || line.starts_with("---")
    {
        return true;
    }
    if line.starts_with("- ") {
        return true;
    }
    match line.split_once(':') {
        Some((key, rest)) => {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
                && (rest.is_empty() || rest.starts_with(' '))
        }
        None => false,
    }
}

/// Splits a block of YAML (a fenced block, or a whole multi-document file) at its `---` lines,
/// keeping the documents that declare a kind.
pub fn split_documents(block: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in block.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(doc) = docs.last_mut() {
            doc.push_str(line);
            doc.push('\n');
        }
    }
    docs.into_iter()
        .filter(|d| d.lines().any(|l| l.starts_with("kind:")))
        .map(|d| d.trim_end().to_owned() + "\n")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder holding an empty `repo` folder, as a clone on its own.
    fn lone_clone(name: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("ferrolb-seeds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("repo")).unwrap();
        root
    }

    #[test]
    fn a_clone_on_its_own_has_no_seed_folder() {
        let root = lone_clone("alone");
        assert_eq!(seed_dir_for(None, &root.join("repo")), None);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn seeds_beside_the_repository_are_found() {
        let root = lone_clone("beside");
        std::fs::create_dir_all(root.join("shared").join("seeds")).unwrap();
        assert_eq!(
            seed_dir_for(None, &root.join("repo")),
            Some(root.join("shared").join("seeds"))
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_seed_folder_setting_is_taken_even_where_nothing_is() {
        let root = lone_clone("setting");
        let named = root.join("nowhere");
        assert_eq!(
            seed_dir_for(Some(named.clone().into_os_string()), &root.join("repo")),
            Some(named)
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn fenced_yaml_blocks_are_found_and_other_fences_ignored() {
        let text = "intro\n```bash\nkubectl apply -f x\n```\n```yaml\n# c\napiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n```\n";
        let docs = yaml_documents(text);
        assert_eq!(
            docs,
            [
                "# c\napiVersion: v1\nkind: A\n",
                "apiVersion: v1\nkind: B\n"
            ]
        );
    }

    #[test]
    fn bare_yaml_in_prose_ends_at_the_first_prose_line() {
        let text = "# Configure IP pool\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: p\nspec:\n  addresses:\n    - 192.0.2.1-192.0.2.9\n---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\n  namespace: metallb-system\n§05\n\nRelated on TokRepo\n";
        let docs = yaml_documents(text);
        assert_eq!(docs.len(), 2);
        assert!(docs[0].contains("- 192.0.2.1-192.0.2.9"));
        assert!(docs[1].ends_with("  namespace: metallb-system\n"));
    }

    #[test]
    fn a_multi_document_file_splits_into_its_documents_without_its_header() {
        let file = "# what the file shows\n---\n# a note\napiVersion: v1\nkind: A\n\n---\napiVersion: v1\nkind: B\n";
        assert_eq!(
            split_documents(file),
            [
                "# a note\napiVersion: v1\nkind: A\n",
                "apiVersion: v1\nkind: B\n"
            ]
        );
    }

    #[test]
    fn comment_only_documents_are_dropped() {
        let docs = yaml_documents("```yaml\n# just a note\n---\napiVersion: v1\nkind: A\n```\n");
        assert_eq!(docs, ["apiVersion: v1\nkind: A\n"]);
    }
}
