//! Command lines quoted for a shell: the hints commands print and the lines Slurm scripts run.

use std::path::Path;

/// `<sweep> [--profile <name>] --store <store>`, quoted for a shell.
pub fn command_line(sweep: &Path, profile: Option<&str>, store: &Path) -> String {
    let mut words = vec![shell_quote(&sweep.display().to_string())];
    if let Some(profile) = profile {
        words.push("--profile".into());
        words.push(shell_quote(profile));
    }
    words.push("--store".into());
    words.push(shell_quote(&store.display().to_string()));
    words.join(" ")
}

/// Quotes a word for the shell (left as it is when it needs no quoting).
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@%".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_the_shell_would_split_them() {
        assert_eq!(shell_quote("/a/b-c.toml"), "/a/b-c.toml");
        assert_eq!(shell_quote("a b'c"), r"'a b'\''c'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(
            command_line(
                Path::new("my sweep.toml"),
                Some("quick"),
                Path::new("store")
            ),
            "'my sweep.toml' --profile quick --store store"
        );
    }
}
