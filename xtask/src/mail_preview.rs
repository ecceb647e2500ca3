//! `cargo xtask mail-preview`: renders every notification mail with sample data.

use std::path::PathBuf;

use anyhow::Context;
use breakglass_mail::Templates;

/// Arguments of `cargo xtask mail-preview`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write `<kind>.html` and `<kind>.txt` into.
    #[arg(long, default_value = "target/mail-preview")]
    pub out: PathBuf,
    /// Render the overrides of this directory (as `mail.templatesDir` would) instead
    /// of the built-in templates.
    #[arg(long)]
    pub templates_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let templates = match &args.templates_dir {
        Some(dir) => Templates::load(dir)?,
        None => Templates::embedded()?,
    };
    let files = breakglass_mail::preview::render_all(&templates, &args.out)
        .with_context(|| format!("rendering into {}", args.out.display()))?;
    for f in &files {
        println!("{}", f.display());
    }
    println!("{} files written", files.len());
    Ok(())
}
