//! The YAML documents found in the seed documents (`../shared/seeds/`): users' own examples of
//! MetalLB configuration, in prose with fenced ```yaml blocks or as bare YAML between
//! paragraphs. [`yaml_documents`] finds both; the seed suite applies every one of them.

use std::path::PathBuf;

/// The folder of seed documents: `$FERROLB_SEEDS`, else `shared/seeds` beside the repository.
pub fn seed_dir() -> PathBuf {
    std::env::var_os("FERROLB_SEEDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::repo_root().join("../shared/seeds"))
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

/// Splits a block at its `---` lines, keeping the documents that declare a kind.
fn split_documents(block: &str) -> Vec<String> {
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
    fn comment_only_documents_are_dropped() {
        let docs = yaml_documents("```yaml\n# just a note\n---\napiVersion: v1\nkind: A\n```\n");
        assert_eq!(docs, ["apiVersion: v1\nkind: A\n"]);
    }
}
